package session_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// restartableMaster runs masters one after the other on one channel, all
// sending the same looped sources, as a master process restarted would.
type restartableMaster struct {
	t            *testing.T
	v            *env
	video, audio *media.Source
	srcCancel    context.CancelFunc
	srcDone      sync.WaitGroup

	m      *session.Master
	cancel context.CancelFunc
	done   chan error
}

func newRestartableMaster(t *testing.T, v *env) *restartableMaster {
	rm := &restartableMaster{t: t, v: v, video: demoSource(t, media.CodecH264, true, false), audio: demoSource(t, media.CodecOpus, true, false)}
	ctx, cancel := context.WithCancel(context.Background())
	rm.srcCancel = cancel
	for _, s := range []*media.Source{rm.video, rm.audio} {
		rm.srcDone.Add(1)
		go func() {
			defer rm.srcDone.Done()
			_ = s.Run(ctx)
		}()
	}
	t.Cleanup(func() {
		rm.stop()
		rm.srcCancel()
		rm.srcDone.Wait()
	})
	return rm
}

// start runs a new master and waits for its signaling connection.
func (rm *restartableMaster) start() {
	rm.t.Helper()
	m, err := session.NewMaster(session.MasterOptions{Options: rm.v.options(), Video: rm.video, Audio: rm.audio})
	if err != nil {
		rm.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rm.m, rm.cancel, rm.done = m, cancel, make(chan error, 1)
	go func() { rm.done <- m.Run(ctx) }()
	waitFor(rm.t, 10*time.Second, "master connected", func() bool { return m.Timeline().Has(session.StepConnect) })
}

// stop closes the running master (its peer connections end with a DTLS
// close, as a master's SIGTERM does).
func (rm *restartableMaster) stop() {
	if rm.m == nil {
		return
	}
	rm.cancel()
	_ = rm.m.Close()
	<-rm.done
	rm.m = nil
}

// TestViewerRejoinsRestartedMaster stops a master mid-stream and starts
// another on the channel: a viewer with Rejoin offers again and receives
// the new master's media without Run returning; the same viewer without
// Rejoin ends with ErrMasterLeft.
func TestViewerRejoinsRestartedMaster(t *testing.T) {
	v := newEnv(t, "rejoin")
	rm := newRestartableMaster(t, v)
	rm.start()

	var frames atomic.Int64
	rejoined := make(chan error, 16)
	vw, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: "rejoiner", Rejoin: true,
		RejoinBackoff: session.Backoff{Min: 50 * time.Millisecond, Max: time.Second},
		OnFrame: func(c media.Codec, _ media.Frame) {
			if c.IsVideo() {
				frames.Add(1)
			}
		},
		OnRejoin: func(cause error, _ time.Duration) {
			select {
			case rejoined <- cause:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- vw.Run(ctx) }()
	waitFrames := func(what string, n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for frames.Load() < n {
			select {
			case err := <-runErr:
				t.Fatalf("%s: viewer Run returned %v", what, err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d video frames, want %d", what, frames.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFrames("first master", 30)

	for i := range 2 {
		rm.stop()
		select {
		case cause := <-rejoined:
			if !errors.Is(cause, session.ErrMasterLeft) && !errors.Is(cause, session.ErrPeerFailed) && !errors.Is(cause, session.ErrNoAnswer) {
				t.Errorf("rejoin %d cause %v", i, cause)
			}
		case err := <-runErr:
			t.Fatalf("viewer Run returned %v when the master left", err)
		case <-time.After(30 * time.Second):
			t.Fatal("viewer did not offer again after the master left")
		}
		n := frames.Load()
		restarted := time.Now()
		rm.start()
		waitFrames("master restarted", n+30)
		t.Logf("restart %d: media again %v after the new master connected", i, time.Since(restarted).Round(time.Millisecond))
	}
	if s := vw.Stats(); s.Rejoins < 2 {
		t.Errorf("stats: %d rejoins, want at least 2", s.Rejoins)
	}
	if err := vw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run after Close: %v", err)
	}

	// Without Rejoin, Run reports the master leaving.
	once, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: "once"})
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	onceErr := make(chan error, 1)
	go func() { onceErr <- once.Run(ctx) }()
	waitFor(t, 20*time.Second, "second viewer connected", func() bool { return once.Timeline().Has(session.StepDTLSConnected) })
	rm.stop()
	select {
	case err := <-onceErr:
		if !errors.Is(err, session.ErrMasterLeft) && !errors.Is(err, session.ErrPeerFailed) {
			t.Errorf("Run without Rejoin: %v, want ErrMasterLeft", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run without Rejoin did not return when the master left")
	}
}
