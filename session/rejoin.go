package session

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/kvsrtc/kvsrtc/signaling"
)

// Defaults of ViewerOptions.RejoinBackoff.
const (
	DefaultRejoinMin = 250 * time.Millisecond
	DefaultRejoinMax = 10 * time.Second
)

// ErrNoMedia reports a connection on which no frame arrived for
// ViewerOptions.MediaTimeout.
var ErrNoMedia = errors.New("no media from the master")

// Backoff spaces a Viewer's offers after a connection ends: before offer n
// (from 0) it waits a uniformly random time in [Min/2, min(Max, Min·2ⁿ)], as
// signaling.Backoff does, and starts again from Min after a connection that
// came up.
type Backoff struct {
	// Min is the base delay. Zero: DefaultRejoinMin.
	Min time.Duration
	// Max caps the delay. Zero: DefaultRejoinMax.
	Max time.Duration
}

// rejoinBackoff is the state of a Backoff.
type rejoinBackoff struct {
	min, max time.Duration
	n        int
}

func (b *rejoinBackoff) reset() { b.n = 0 }

// next returns the wait before the next offer.
func (b *rejoinBackoff) next() time.Duration {
	if b.min <= 0 {
		b.min = DefaultRejoinMin
	}
	if b.max <= 0 {
		b.max = DefaultRejoinMax
	}
	b.max = max(b.max, b.min)
	d := b.min
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.n++
	lo := b.min / 2
	return lo + time.Duration(rand.Int64N(int64(d-lo)+1))
}

// rejoinable reports whether a connection that ended with err is worth a
// new offer: the master left or restarted, ICE or DTLS failed, the offer
// was not answered (no master yet, or the answer was dropped), or
// signaling was down when the offer went out.
func rejoinable(err error) bool {
	return errors.Is(err, ErrMasterLeft) || errors.Is(err, ErrPeerFailed) || errors.Is(err, ErrNoAnswer) ||
		errors.Is(err, signaling.ErrNotConnected)
}
