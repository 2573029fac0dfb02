package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// bg is a kvsrtc command running in the background until stopped.
type bg struct {
	out, errOut lockedBuffer
	cancel      context.CancelFunc
	done        chan struct{} // closed when the command returned
	code        int
}

// start runs kvsrtc args in process until stop or the test's end.
func start(t *testing.T, args ...string) *bg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	b := &bg{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.code = Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &b.out, ErrOut: &b.errOut}, args)
	}()
	t.Cleanup(func() { b.stop() })
	return b
}

// stop interrupts the command (as SIGINT does) and returns its exit code.
func (b *bg) stop() int {
	b.cancel()
	<-b.done
	return b.code
}

// waitOut waits for s on the command's stderr.
func (b *bg) waitErr(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(b.errOut.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on stderr within %v:\n%s", s, d, b.errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A viewer outlives its master: interrupted and started again, the master
// gets the same viewer back (it offers again), which then ends normally
// after --seconds of media; with --no-rejoin the viewer exits when the
// master leaves.
func TestViewerRejoinsMasterCommand(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	m1 := start(t, "master", "--channel-name", "cam")
	v := start(t, "viewer", "--channel-name", "cam", "--seconds", "4", "--json", "--client-id", "stayer")
	m1.waitErr(t, "viewer stayer joined", 30*time.Second)
	if code := m1.stop(); code != ExitCanceled {
		t.Errorf("master exit %d, want %d", code, ExitCanceled)
	}
	v.waitErr(t, "offering again", 30*time.Second)
	m2 := start(t, "master", "--channel-name", "cam")
	m2.waitErr(t, "viewer stayer joined", 40*time.Second)
	select {
	case <-v.done:
		if v.code != 0 {
			t.Fatalf("viewer exit %d\n%s\n%s", v.code, v.out.String(), v.errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("viewer still running:\n%s", v.errOut.String())
	}
	j := decode[viewerJSON](t, v.out.String())
	if j.Stats.Rejoins < 1 || j.Stats.Video.Frames < 60 || j.Error != "" {
		t.Errorf("viewer stats %+v, error %q", j.Stats, j.Error)
	}

	once := start(t, "viewer", "--channel-name", "cam", "--no-rejoin", "--client-id", "once")
	m2.waitErr(t, "viewer once joined", 30*time.Second)
	m2.stop()
	select {
	case <-once.done:
		if once.code != ExitFailure {
			t.Errorf("--no-rejoin viewer exit %d, want %d", once.code, ExitFailure)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("--no-rejoin viewer still running after its master left:\n%s", once.errOut.String())
	}
}

// A master prints a line when signaling drops (with the cause) and when it
// is back; before, it said nothing.
func TestSignalingStatusLines(t *testing.T) {
	e, arn := startEmulator(t, emulator.Options{}, "cam")
	m := start(t, "master", "--channel-name", "cam")
	waitUntil(t, 30*time.Second, "master connected", func() bool { up, _ := e.Connections(arn); return up })
	e.GoAway(arn)
	m.waitErr(t, "master: signaling connection lost (service sent GO_AWAY); reconnecting", 30*time.Second)
	m.waitErr(t, "master: signaling connected again after", 30*time.Second)
}
