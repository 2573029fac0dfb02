package emulator

import (
	"time"
)

// stamper gives frames the service's timestamps (on the emulator's
// clock) from their RTP times and arrivals. It holds a track's first
// 250 ms of frames to find where "live" is: the anchor maps RTP time to the
// earliest arrival seen, so a burst (the GOP a master replays when a
// session connects) is stamped back in the past, where its media belongs,
// and audio and video line up. Then the RTP clock's spacing is kept; a
// frame later than that by more than 200 ms (a pause, a gap) moves the
// anchor forward to its arrival. Stamps always increase.
type stamper struct {
	clock   float64
	pending []heldFrame
	locked  bool
	anchor  time.Time // stamp = anchor + ext/clock
	started bool
	prevRTP uint32
	ext     int64 // unwrapped RTP time since the first frame
	last    time.Time
}

type heldFrame struct {
	ext     int64
	arrival time.Time
	data    []byte
}

// stampedFrame is a frame ready to store.
type stampedFrame struct {
	t    time.Time
	data []byte
}

const (
	stampHold = 250 * time.Millisecond
	stampLate = 200 * time.Millisecond
)

func (s *stamper) offset(ext int64) time.Duration {
	return time.Duration(float64(ext) / s.clock * float64(time.Second))
}

// push takes a frame and returns those ready to store, in order.
func (s *stamper) push(rtpTS uint32, arrival time.Time, data []byte) []stampedFrame {
	if !s.started {
		s.started, s.prevRTP = true, rtpTS
	}
	s.ext += int64(int32(rtpTS - s.prevRTP))
	s.prevRTP = rtpTS
	if !s.locked {
		s.pending = append(s.pending, heldFrame{s.ext, arrival, data})
		if arrival.Sub(s.pending[0].arrival) < stampHold {
			return nil
		}
		return s.flush()
	}
	t := s.anchor.Add(s.offset(s.ext))
	if late := arrival.Sub(t); late > stampLate || late < -5*time.Second {
		s.anchor = arrival.Add(-s.offset(s.ext))
		t = arrival
	}
	return []stampedFrame{s.emit(t, data)}
}

// flush locks the anchor and stamps the held frames.
func (s *stamper) flush() []stampedFrame {
	if s.locked || len(s.pending) == 0 {
		return nil
	}
	s.locked = true
	s.anchor = s.pending[0].arrival.Add(-s.offset(s.pending[0].ext))
	for _, f := range s.pending[1:] {
		if a := f.arrival.Add(-s.offset(f.ext)); a.Before(s.anchor) {
			s.anchor = a
		}
	}
	out := make([]stampedFrame, 0, len(s.pending))
	for _, f := range s.pending {
		out = append(out, s.emit(s.anchor.Add(s.offset(f.ext)), f.data))
	}
	s.pending = nil
	return out
}

func (s *stamper) emit(t time.Time, data []byte) stampedFrame {
	if !t.After(s.last) {
		t = s.last.Add(time.Millisecond)
	}
	s.last = t
	return stampedFrame{t, data}
}
