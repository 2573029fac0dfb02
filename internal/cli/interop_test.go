package cli

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// TestVerboseKeepsTheCA runs `kvsrtc master -v` and `kvsrtc viewer -v`
// against an emulator whose certificates a private CA signed
// (AWS_CA_BUNDLE): -v wraps the HTTP client in a logging one, and the WSS
// dial and TURN over TLS must still trust the bundle. The viewer uses
// relay candidates over TURN over TLS only, so its first frame came through
// the emulator's turns: listener.
func TestVerboseKeepsTheCA(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam-v")
	t.Setenv(envSTUNURL, e.STUNURL())
	type result struct {
		out, errOut string
		code        int
	}
	mres := make(chan result, 1)
	go func() {
		out, errOut, code := run(t, "master", "-v", "--channel-name", "cam-v", "--seconds", "3")
		mres <- result{out, errOut, code}
	}()
	out, errOut, code := run(t, "viewer", "-v", "--channel-name", "cam-v", "--seconds", "1", "--json",
		"--force-turn", "--relay-transport", "tls", "--client-id", "v-verbose")
	if code != 0 {
		t.Fatalf("viewer -v exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "http POST") {
		t.Errorf("viewer -v printed no HTTP calls:\n%s", errOut)
	}
	v := decode[viewerJSON](t, out)
	if v.Stats.Video.Frames < 10 {
		t.Errorf("viewer over TURN/TLS got %d video frames", v.Stats.Video.Frames)
	}
	m := <-mres
	if m.code != 0 {
		t.Fatalf("master -v exit %d\n%s\n%s", m.code, m.out, m.errOut)
	}
	if !strings.Contains(m.errOut, "viewer v-verbose joined") {
		t.Errorf("master did not see the viewer:\n%s", m.errOut)
	}
}

// TestMasterProfilingFlag: `kvsrtc master` answers the sample viewers'
// profiling probe unless --no-profiling.
func TestMasterProfilingFlag(t *testing.T) {
	cliEnv(t)
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--no-profiling"}, false}} {
		var got *masterOptions
		cmd := newMasterCmd(&IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, func(_ context.Context, o *masterOptions) error {
			got = o
			return nil
		})
		cmd.SetArgs(append([]string{"--channel-name", "x"}, tc.args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !got.NoProfiling != tc.want {
			t.Errorf("%v: profiling replies %v, want %v", tc.args, !got.NoProfiling, tc.want)
		}
	}
}

// TestNoTrickleViewerCommand: `kvsrtc viewer --no-trickle` against
// `kvsrtc master` (its complete SDP once went over the 10,000-byte payload
// limit with duplicate candidates).
func TestNoTrickleViewerCommand(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam-nt")
	t.Setenv(envSTUNURL, e.STUNURL())
	mcode := make(chan int, 1)
	go func() {
		_, _, code := run(t, "master", "--channel-name", "cam-nt", "--seconds", "3")
		mcode <- code
	}()
	out, errOut, code := run(t, "viewer", "--channel-name", "cam-nt", "--seconds", "1", "--json", "--no-trickle", "--client-id", "v-nt")
	if code != 0 {
		t.Fatalf("viewer --no-trickle exit %d\n%s\n%s", code, out, errOut)
	}
	if v := decode[viewerJSON](t, out); v.Stats.Video.Frames < 10 {
		t.Errorf("viewer --no-trickle got %d video frames", v.Stats.Video.Frames)
	}
	if code := <-mcode; code != 0 {
		t.Errorf("master exit %d", code)
	}
}
