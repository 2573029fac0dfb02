package cli

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/media"
)

// runIn is run with stdin.
func runIn(t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := Run(ctx, &IOStreams{In: stdin, Out: &out, ErrOut: &errOut}, args)
	return out.String(), errOut.String(), code
}

// `ffmpeg … -f h264 - | kvsrtc master --video -`: H.264 Annex-B on stdin
// reaches a viewer.
func TestMasterVideoFromStdin(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "pipe")
	t.Setenv(envSTUNURL, e.STUNURL())
	type result struct {
		out, errOut string
		code        int
	}
	mres := make(chan result, 1)
	go func() {
		out, errOut, code := runIn(t, media.DemoH264(), "master", "--channel-name", "pipe", "--video", "-", "--seconds", "3", "--json")
		mres <- result{out, errOut, code}
	}()
	out, errOut, code := run(t, "viewer", "--channel-name", "pipe", "--seconds", "1", "--json", "--client-id", "pipe-viewer")
	if code != 0 {
		t.Fatalf("viewer exit %d\n%s\n%s", code, out, errOut)
	}
	v := decode[viewerJSON](t, out)
	if v.Stats.Video.Frames < 25 || v.Stats.Video.Codec != "h264" {
		t.Errorf("viewer stats %+v", v.Stats)
	}
	if m := <-mres; m.code != 0 {
		t.Fatalf("master exit %d\n%s\n%s", m.code, m.out, m.errOut)
	}
}
