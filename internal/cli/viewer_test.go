package cli

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/media"
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
	// --seconds 1 ends the viewer once one track has 1 s of media (by RTP
	// timestamps). The other may be behind it: the master's sources are
	// paced apart, and on 2 busy cores under -race the video ran at 24 fps
	// while the audio kept up, so a count of video frames in that second
	// is a timing bound. What holds: a track reached 1 s, and the video
	// that came is whole, from a keyframe, every frame of its span at the
	// master's default --fps.
	vs, as := v.Stats.Video, v.Stats.Audio
	if max(vs.MediaSeconds, as.MediaSeconds) < 1-1e-6 {
		t.Errorf("viewer --seconds 1 ended at %.3f s of video and %.3f s of audio, want one at 1 s", vs.MediaSeconds, as.MediaSeconds)
	}
	if want := 1 + int64(math.Round(vs.MediaSeconds*media.DefaultFPS)); vs.Codec != "h264" || vs.Keyframes < 1 || vs.Frames < 2 || vs.Frames != want {
		t.Errorf("viewer video: want h264 from a keyframe, %d frames for %.3f s; stats %+v", want, vs.MediaSeconds, v.Stats)
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
	// The master counts the frames it sent the viewer: at least all the
	// viewer received.
	if len(mj.Viewers) != 1 || mj.Viewers[0].ClientID != "cli-viewer" || mj.Viewers[0].Stats.VideoFrames < vs.Frames {
		t.Errorf("master saw %+v; the viewer received %d video frames", mj.Viewers, vs.Frames)
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
