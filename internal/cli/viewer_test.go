package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/session"
)

// TestMasterViewerCommands runs `kvsrtc master` and `kvsrtc viewer` as a
// user would against AWS: credentials, region, endpoint and CA bundle from
// the environment (pointing at an emulator), the channel by name.
func TestMasterViewerCommands(t *testing.T) {
	e, _ := startEmulator(t, emulator.Options{}, "cam")
	t.Setenv(envSTUNURL, e.STUNURL())
	type result struct {
		out, errOut string
		code        int
	}
	mres := make(chan result, 1)
	go func() {
		out, errOut, code := run(t, "master", "--channel-name", "cam", "--seconds", "3", "--json")
		mres <- result{out, errOut, code}
	}()
	rec := filepath.Join(t.TempDir(), "cam.mkv")
	out, errOut, code := run(t, "viewer", "--channel-name", "cam", "--seconds", "1", "--json", "--record", rec, "--send", "hi", "--client-id", "cli-viewer")
	if code != 0 {
		t.Fatalf("viewer exit %d\n%s\n%s", code, out, errOut)
	}
	v := decode[viewerJSON](t, out)
	stepsInOrder(t, "viewer", v.Timeline, session.StepCredentials, session.StepEndpoints, session.StepICEServers,
		session.StepOfferSent, session.StepAnswer, session.StepICEConnected, session.StepDTLSConnected, session.StepFirstVideo)
	if v.Stats.Video.Frames < 25 || v.Stats.Video.Codec != "h264" {
		t.Errorf("viewer stats %+v", v.Stats)
	}
	if d := ffprobeDuration(t, rec); d < 0.9 {
		t.Errorf("recording %.2f s", d)
	}
	m := <-mres
	if m.code != 0 {
		t.Fatalf("master exit %d\n%s\n%s", m.code, m.out, m.errOut)
	}
	mj := decode[masterJSON](t, m.out)
	if !strings.Contains(m.errOut, "cli-viewer: hi") { // --send, over the data channel
		t.Errorf("master did not print the viewer's message:\n%s", m.errOut)
	}
	if len(mj.Viewers) != 1 || mj.Viewers[0].ClientID != "cli-viewer" || mj.Viewers[0].Stats.VideoFrames < 25 {
		t.Errorf("master saw %+v", mj.Viewers)
	}
	stepsInOrder(t, "master", mj.Timeline, session.StepCredentials, session.StepEndpoints, session.StepConnect)
}

// TestSessionFlags checks flag parsing apart from the work.
func TestSessionFlags(t *testing.T) {
	cliEnv(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"viewer", "--relay-transport", "sctp", "--channel-name", "x"}, ExitUsage},
		{[]string{"viewer", "--seconds", "-1", "--channel-name", "x"}, ExitUsage},
		{[]string{"viewer", "--client-id", "bad id!", "--channel-name", "x"}, ExitUsage},
		{[]string{"master", "--video", "clip.mp4", "--channel-name", "x"}, ExitUsage},
		{[]string{"master", "--video", "-", "--loop", "--channel-name", "x"}, ExitUsage},
		{[]string{"demo", "--viewers", "0"}, ExitUsage},
		{[]string{"demo", "--codec", "av1"}, ExitUsage},
	} {
		if _, errOut, code := run(t, tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, errOut)
		}
	}
}
