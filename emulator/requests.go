package emulator

import "sync/atomic"

// RequestCounts returns how many requests each operation has received
// (names as Requests takes them, plus "Unknown" for unroutable ones),
// refused ones included.
func (e *Emulator) RequestCounts() map[string]int64 {
	out := map[string]int64{}
	e.counts.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}
