package session

import (
	"time"

	"github.com/pion/rtp"
)

// Reordering limits: a gap in sequence numbers is held open this long, or
// for this many later packets, waiting for the missing packet (late on the
// network, or resent after a NACK), before the packets behind it go on and
// the assembler sees the loss.
const (
	reorderMaxDelay   = 100 * time.Millisecond
	reorderMaxPackets = 128
)

// reorder is a small jitter buffer in front of the assembler: it hands
// packets on in sequence-number order, so a packet that arrives late or is
// resent after a NACK still completes its frame instead of costing every
// frame until the next keyframe. It adds no delay to packets that arrive
// in order. The first packet seen sets where the stream starts: waiting to
// learn whether an older one is coming would delay every first frame.
type reorder struct {
	have    bool
	next    uint16 // the sequence number handed on next
	pending map[uint16]*rtp.Packet
	gapAt   time.Time // when the oldest missing packet was first waited for
}

func newReorder() *reorder { return &reorder{pending: map[uint16]*rtp.Packet{}} }

// push adds p, received at now, and returns the packets that can go on, in
// order. Duplicates and packets older than what already went on are
// dropped.
func (r *reorder) push(p *rtp.Packet, now time.Time) []*rtp.Packet {
	if !r.have {
		r.have, r.next = true, p.SequenceNumber
	}
	if int16(p.SequenceNumber-r.next) < 0 {
		return nil // already handed on, or given up on
	}
	if _, dup := r.pending[p.SequenceNumber]; dup {
		return nil
	}
	r.pending[p.SequenceNumber] = p
	out := r.drain()
	if len(r.pending) == 0 {
		r.gapAt = time.Time{}
		return out
	}
	if r.gapAt.IsZero() {
		r.gapAt = now
	}
	if now.Sub(r.gapAt) >= reorderMaxDelay || len(r.pending) >= reorderMaxPackets {
		// Give up on the gap: skip to the oldest packet held.
		oldest, first := uint16(0), true
		for s := range r.pending {
			if first || int16(s-oldest) < 0 {
				oldest, first = s, false
			}
		}
		r.next = oldest
		out = append(out, r.drain()...)
		r.gapAt = time.Time{}
		if len(r.pending) > 0 {
			r.gapAt = now
		}
	}
	return out
}

// drain hands on the run of packets from next.
func (r *reorder) drain() []*rtp.Packet {
	var out []*rtp.Packet
	for {
		p, ok := r.pending[r.next]
		if !ok {
			return out
		}
		delete(r.pending, r.next)
		out = append(out, p)
		r.next++
	}
}
