package session_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// liveMaster runs a master sending the looped demo clip in real time until
// the test ends.
func liveMaster(t *testing.T, v *env, optFns ...func(*session.MasterOptions)) *session.Master {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	video, audio := demoSource(t, media.CodecH264, true, false), demoSource(t, media.CodecOpus, true, false)
	return runMaster(t, ctx, cancel, v, video, audio, optFns...)
}

// viewFrames runs a viewer until it has received n video frames and
// returns its first video frame and timeline; optFns change its options.
func viewFrames(t *testing.T, v *env, id string, n int, optFns ...func(*session.ViewerOptions)) (media.Frame, *session.Timeline) {
	t.Helper()
	var first media.Frame
	var once sync.Once
	vw, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: id, VideoFrames: n,
		OnFrame: func(c media.Codec, f media.Frame) {
			if c.IsVideo() {
				once.Do(func() { first = f })
			}
		}}, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := vw.Run(ctx); err != nil {
		t.Fatalf("viewer %s: %v (timeline %+v)", id, err, vw.Timeline().Steps())
	}
	if s := vw.Stats(); s.Video.Frames != int64(n) { // VideoFrames is exact
		t.Fatalf("viewer %s: %d video frames, want exactly %d", id, s.Video.Frames, n)
	}
	return first, vw.Timeline()
}

// TestThreeViewersAndRejoin connects three viewers at once to one master,
// then one of them again: each gets video that starts at a keyframe (the
// GOP cache), and the master packetizes each frame once for all of them.
func TestThreeViewersAndRejoin(t *testing.T) {
	v := newEnv(t, "three")
	m := liveMaster(t, v)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, _ := viewFrames(t, v, fmt.Sprintf("viewer-%d", i), 20)
			if !first.Keyframe {
				t.Errorf("viewer-%d: first frame is not a keyframe", i)
			}
		}()
	}
	wg.Wait()
	// viewer-1 leaves (above) and comes back.
	first, tl := viewFrames(t, v, "viewer-1", 10)
	if !first.Keyframe {
		t.Error("rejoined viewer: first frame is not a keyframe")
	}
	checkTimeline(t, tl, viewerSteps)
	waitFor(t, 10*time.Second, "viewers gone", func() bool { return m.Stats().Viewers == 0 })
	s := m.Stats()
	if s.ViewersTotal != 4 {
		t.Errorf("master saw %d viewers, want 4", s.ViewersTotal)
	}
	var sent int64
	for _, p := range m.Peers() {
		sent += p.Stats.VideoFrames
	}
	if int64(s.VideoPacketized) >= sent {
		t.Errorf("packetized %d frames for %d sent: not shared", s.VideoPacketized, sent)
	}
}

// TestDataChannel sends a message from the viewer to the master and the
// master's reply back.
func TestDataChannel(t *testing.T) {
	v := newEnv(t, "data")
	var m *session.Master
	m = liveMaster(t, v, func(o *session.MasterOptions) {
		o.OnMessage = func(from string, msg session.DataMessage) {
			if _, err := m.SendText("echo " + from + ": " + string(msg.Data)); err != nil {
				t.Errorf("master send: %v", err)
			}
		}
	})
	got := make(chan string, 1)
	opts := session.ViewerOptions{Options: v.options(), ClientID: "talker"}
	opts.OnMessage = func(_ string, msg session.DataMessage) {
		if msg.IsString {
			got <- string(msg.Data)
		}
	}
	vw, err := session.NewViewer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- vw.Run(ctx) }()
	waitFor(t, 10*time.Second, "data channel open", func() bool { return vw.SendText("hello") == nil })
	select {
	case s := <-got:
		if s != "echo talker: hello" {
			t.Errorf("got %q", s)
		}
	case <-ctx.Done():
		t.Fatal("no reply")
	}
	vw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
