//go:build !unix

package resolve

import "context"

// lockFile is a no-op where flock is missing: the atomic rename still keeps
// readers safe, but two writers may each lose the other's entry.
func lockFile(ctx context.Context, path string) (func(), error) {
	return func() {}, ctx.Err()
}
