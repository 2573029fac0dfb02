package cli

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
)

// openInput opens a media file so that ctx can always interrupt it. open(2)
// of a FIFO blocks until a writer opens the other end, and neither SIGINT
// nor SIGTERM interrupts it: the open runs on its own goroutine, and when
// ctx ends first it is released by opening the write end ourselves
// (O_NONBLOCK: it succeeds exactly when a reader is waiting).
func openInput(ctx context.Context, path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return os.Open(path)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			o := <-done
			w.Close()
			if o.f != nil {
				o.f.Close()
			}
			return nil, ctx.Err()
		}
		select { // the reader was not in open(2) yet: try again
		case o := <-done:
			if o.f != nil {
				o.f.Close()
			}
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// sourceGrace is how long a master waits, once it is stopping, for a
// source stuck in a read (stdin, a pipe whose writer stalled) before it
// returns without it: a signal stops the process within a second whatever
// the source.
const sourceGrace = 500 * time.Millisecond

// runSource runs s until ctx ends; a read that does not return within
// sourceGrace of that is left behind (the process is exiting).
func runSource(ctx context.Context, s *media.Source) error {
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t := time.NewTimer(sourceGrace)
		defer t.Stop()
		select {
		case err = <-done:
		case <-t.C:
			return nil
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
