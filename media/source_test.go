package media

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// runSource runs s in a goroutine; the returned func cancels it and returns
// Run's error.
func runSource(t *testing.T, s *Source) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of cancel")
			return nil
		}
	}
}

func TestSourceLoop(t *testing.T) {
	tests := []struct {
		name   string
		codec  Codec
		in     io.ReadSeeker
		n      int // frames per pass
		period time.Duration
		key    func(i int) bool
	}{
		{"h264", CodecH264, DemoH264(), 150, 5 * time.Second, func(i int) bool { return i%30 == 0 }},
		{"vp8", CodecVP8, DemoVP8(), 150, 5 * time.Second, func(i int) bool { return i%30 == 0 }},
		{"opus", CodecOpus, DemoOpus(), 251, 5020 * time.Millisecond, func(int) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total := 2*tt.n + 10
			s, err := NewSource(tt.in, SourceOptions{Codec: tt.codec, Loop: true, Unpaced: true},
				func(o *SourceOptions) { o.Broadcaster.QueueSize = total })
			if err != nil {
				t.Fatal(err)
			}
			ch, cancel := s.Subscribe()
			defer cancel()
			stop := runSource(t, s)
			var prev Frame
			for i := range total { // the first QueueSize frames are never dropped
				f := recv(t, ch)
				if f.Seq != i {
					t.Fatalf("frame %d: seq %d", i, f.Seq)
				}
				if f.Keyframe != tt.key(i%tt.n) {
					t.Errorf("frame %d: keyframe %v", i, f.Keyframe)
				}
				if i > 0 {
					if d := f.Timestamp - (prev.Timestamp + prev.Duration); d < -time.Millisecond || d > time.Millisecond {
						t.Errorf("frame %d: ts %v, previous ended at %v", i, f.Timestamp, prev.Timestamp+prev.Duration)
					}
				}
				if i == tt.n {
					if d := f.Timestamp - tt.period; d < -time.Millisecond || d > time.Millisecond {
						t.Errorf("second pass starts at %v, want %v", f.Timestamp, tt.period)
					}
				}
				prev = f
			}
			if err := stop(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v, want context.Canceled", err)
			}
			if _, ok := <-ch; ok {
				// drain what was queued, then expect closed
				for range ch {
				}
			}
		})
	}
}

func TestSourceEndsWithoutLoop(t *testing.T) {
	s, err := NewSource(DemoOpus(), SourceOptions{Codec: CodecOpus, Unpaced: true,
		Broadcaster: BroadcasterOptions{QueueSize: 300}})
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := s.Subscribe()
	defer cancel()
	if err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range ch { // closed when Run returned
		n++
	}
	if n != 251 {
		t.Fatalf("got %d frames, want 251", n)
	}
	if err := s.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Run: %v, want ErrClosed", err)
	}
}

func TestSourceOptionErrors(t *testing.T) {
	pipe := io.MultiReader(DemoH264()) // not an io.Seeker, like stdin
	if _, err := NewSource(pipe, SourceOptions{Codec: CodecH264, Loop: true}); err == nil {
		t.Error("loop over a non-seekable reader accepted")
	}
	if _, err := NewSource(DemoH264(), SourceOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("no codec: %v", err)
	}
	s, err := NewSource(DemoVP8(), SourceOptions{Codec: CodecOpus, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(t.Context()); !errors.Is(err, ErrInvalidStream) {
		t.Errorf("IVF read as Ogg: %v", err)
	}
}

func TestSourcePacing(t *testing.T) {
	clock := newFakeClock()
	s, err := NewSource(DemoH264(), SourceOptions{Codec: CodecH264, FPS: 30, Loop: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := s.Subscribe()
	defer cancel()
	stop := runSource(t, s)

	if f := recv(t, ch); f.Seq != 0 {
		t.Fatalf("first frame seq %d", f.Seq)
	}
	for i := 1; i <= 160; i++ { // past the loop point (150) too
		clock.waitPending(t, 1) // the source is waiting for frame i
		if got, want := clock.lastAsked(), time.Second/30; got < want-time.Microsecond || got > want+time.Microsecond {
			t.Fatalf("frame %d: timer for %v, want %v", i, got, want)
		}
		select {
		case f := <-ch:
			t.Fatalf("frame %d published before its time", f.Seq)
		default:
		}
		clock.Advance(clock.lastAsked() - time.Millisecond)
		select {
		case f := <-ch:
			t.Fatalf("frame %d published 1ms early", f.Seq)
		default:
		}
		clock.Advance(time.Millisecond)
		if f := recv(t, ch); f.Seq != i {
			t.Fatalf("got seq %d, want %d", f.Seq, i)
		}
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

func TestSourceReanchorsWhenLate(t *testing.T) {
	clock := newFakeClock()
	s, err := NewSource(DemoOpus(), SourceOptions{Codec: CodecOpus, Clock: clock, MaxLag: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := s.Subscribe()
	defer cancel()
	stop := runSource(t, s)
	recv(t, ch)
	clock.waitPending(t, 1)
	clock.Advance(10 * time.Second) // a stall: frame 1 is now 9.98 s late
	if f := recv(t, ch); f.Seq != 1 {
		t.Fatalf("seq %d", f.Seq)
	}
	// Re-anchored at frame 1: frame 2 waits a full 20 ms, no burst.
	clock.waitPending(t, 1)
	if got := clock.lastAsked(); got != 20*time.Millisecond {
		t.Fatalf("after a stall the next frame waits %v, want 20ms", got)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}
