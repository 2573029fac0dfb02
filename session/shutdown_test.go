package session_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// TestShutdown: a viewer's Shutdown finishes its recording and Run returns
// nil; the master's Shutdown ends Run with nil and closes its viewers'
// connections, so a viewer still watching ends at once with ErrMasterLeft;
// a Shutdown whose context has already ended still stops everything and
// says so.
func TestShutdown(t *testing.T) {
	v := newEnv(t, "shutdown")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	video, audio := demoSource(t, media.CodecH264, true, false), demoSource(t, media.CodecOpus, true, false)
	m, err := session.NewMaster(session.MasterOptions{Options: v.options(), Video: video, Audio: audio})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	masterDone := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); _ = video.Run(ctx) }()
	go func() { defer wg.Done(); _ = audio.Run(ctx) }()
	go func() { masterDone <- m.Run(ctx) }()
	wait(t, m.Ready(), 10*time.Second, "master ready")

	start := func(id string, rec *bytes.Buffer) (*session.Viewer, <-chan struct{}, <-chan error) {
		frames := make(chan struct{}, 1)
		o := session.ViewerOptions{Options: v.options(), ClientID: id, OnFrame: func(c media.Codec, _ media.Frame) {
			if c.IsVideo() {
				select {
				case frames <- struct{}{}:
				default:
				}
			}
		}}
		if rec != nil {
			o.Record = rec
		}
		vw, err := session.NewViewer(o)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- vw.Run(ctx) }()
		return vw, frames, done
	}
	var rec bytes.Buffer
	recorder, recFrames, recDone := start("recorder", &rec)
	watcher, watchFrames, watchDone := start("watcher", nil)
	defer watcher.Close()
	for _, c := range []<-chan struct{}{recFrames, watchFrames} {
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatal("no video")
		}
	}

	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := recorder.Shutdown(sctx); err != nil {
		t.Fatalf("viewer Shutdown: %v", err)
	}
	if err := <-recDone; err != nil {
		t.Fatalf("viewer Run after Shutdown: %v", err)
	}
	if recorder.Recording() != "matroska" || rec.Len() == 0 {
		t.Errorf("recording %q, %d bytes: want a finished Matroska file", recorder.Recording(), rec.Len())
	}

	if err := m.Shutdown(sctx); err != nil {
		t.Fatalf("master Shutdown: %v", err)
	}
	if err := <-masterDone; err != nil {
		t.Fatalf("master Run after Shutdown: %v", err)
	}
	select {
	case err := <-watchDone: // the DTLS close reached it: no ICE timeout
		if !errors.Is(err, session.ErrMasterLeft) {
			t.Errorf("watcher ended with %v, want ErrMasterLeft", err)
		}
	case <-sctx.Done():
		t.Fatal("the watcher did not see the master leave")
	}

	// A deadline already over: everything stops, and Shutdown says so.
	m2, err := session.NewMaster(session.MasterOptions{Options: v.options(), Video: video})
	if err != nil {
		t.Fatal(err)
	}
	done2 := make(chan error, 1)
	go func() { done2 <- m2.Run(ctx) }()
	wait(t, m2.Ready(), 10*time.Second, "second master ready")
	over, stop := context.WithCancel(ctx)
	stop()
	if err := m2.Shutdown(over); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with an ended context: %v, want its error", err)
	}
	if err := <-done2; err != nil {
		t.Errorf("second master Run: %v", err)
	}
}
