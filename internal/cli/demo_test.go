package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/session"
)

// stepsInOrder checks that tl has every step of chain, each ending no
// earlier than the one before it.
func stepsInOrder(t *testing.T, who string, tl *session.Timeline, chain ...string) {
	t.Helper()
	prev, prevName := -1.0, ""
	for _, name := range chain {
		s, ok := tl.Step(name)
		if !ok {
			t.Errorf("%s: no %s in %+v", who, name, tl.Steps())
			continue
		}
		if s.EndMs < prev {
			t.Errorf("%s: %s ends at %.1f ms, before %s (%.1f ms)", who, name, s.EndMs, prevName, prev)
		}
		if s.Ms < 0 || s.StartMs > s.EndMs {
			t.Errorf("%s: %s runs backwards: %+v", who, name, s)
		}
		prev, prevName = s.EndMs, name
	}
}

// TestDemoJSON runs `kvsrtc demo --json` with two viewers and checks every
// step of every timeline, in order, the stats and the recordings.
func TestDemoJSON(t *testing.T) {
	cliEnv(t)
	dir := t.TempDir()
	out, errOut, code := run(t, "demo", "--json", "--seconds", "2", "--viewers", "2", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	d := decode[demoJSON](t, out)
	stepsInOrder(t, "master", d.Master.Timeline, session.StepCreateChannel, session.StepCredentials, session.StepEndpoints, session.StepICEServers)
	stepsInOrder(t, "master", d.Master.Timeline, session.StepEndpoints, session.StepConnect)
	if len(d.Viewers) != 2 || len(d.Master.Viewers) != 2 {
		t.Fatalf("viewers %d, master saw %d", len(d.Viewers), len(d.Master.Viewers))
	}
	for _, v := range d.Viewers {
		if v.Error != "" {
			t.Errorf("%s: %s", v.ClientID, v.Error)
		}
		// GetIceServerConfig and the WSS connect overlap: both follow
		// the endpoints and precede the offer.
		stepsInOrder(t, v.ClientID, v.Timeline, session.StepCredentials, session.StepEndpoints, session.StepICEServers,
			session.StepPeerConnection, session.StepOfferSent, session.StepAnswer, session.StepICEConnected,
			session.StepDTLSConnected, session.StepFirstVideo)
		stepsInOrder(t, v.ClientID, v.Timeline, session.StepEndpoints, session.StepConnect, session.StepOfferSent)
		// Audio follows ICE. Not DTLS: the first audio frame and pion's
		// DTLS state callback are marked by different goroutines, and
		// under load the callback can run after the frame came in.
		stepsInOrder(t, v.ClientID, v.Timeline, session.StepICEConnected, session.StepFirstAudio)
		// Video starts with the cached GOP (up to 1 s of backlog) and
		// --seconds counts video media time; audio starts live, so it
		// may have up to a second less (50 frames = 1 s of 20 ms frames).
		if v.Stats.Video.Frames < 55 || v.Stats.Audio.Frames < 40 || v.Stats.Video.Codec != "h264" {
			t.Errorf("%s: stats %+v", v.ClientID, v.Stats)
		}
		if ffprobeDuration(t, filepath.Join(dir, v.Recording)) < 1.8 {
			t.Errorf("%s: recording too short", v.ClientID)
		}
	}
	for _, p := range d.Master.Viewers {
		stepsInOrder(t, "master/"+p.ClientID, p.Timeline, session.StepOfferReceived, session.StepPeerConnection,
			session.StepAnswer, session.StepICEConnected, session.StepDTLSConnected, session.StepFirstVideo)
	}
	// The media is packetized once for both viewers: packetized per viewer,
	// the count would reach the frames both received together.
	both := int(d.Viewers[0].Stats.Video.Frames + d.Viewers[1].Stats.Video.Frames)
	if s := d.Master.Stats; s.VideoPacketized == 0 || s.VideoPacketized >= both {
		t.Errorf("master packetized %d video frames for viewers that received %d together: %+v", s.VideoPacketized, both, s)
	}
}

// TestDemoHuman checks the output for people: timelines, stats, where the
// recording is.
func TestDemoHuman(t *testing.T) {
	cliEnv(t)
	out, errOut, code := run(t, "demo", "--seconds", "1", "--dir", t.TempDir(), "--codec", "vp8", "--force-turn")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"master timeline:", "viewer viewer-1 timeline:", "firstVideoFrame", "timeToFirstFrame", "video vp8:", "recordings in ", "viewer-1.webm"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestDemoBench checks --bench: medians and p90s of both runs.
func TestDemoBench(t *testing.T) {
	cliEnv(t)
	out, errOut, code := run(t, "demo", "--json", "--bench", "3")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	b := decode[demoJSON](t, out).Bench
	if b == nil || len(b.ColdSamples) != 3 || len(b.WarmSamples) != 3 || b.ColdMedian <= 0 || b.WarmMedian <= 0 || b.WarmP90 < b.WarmMedian {
		t.Fatalf("bench %+v", b)
	}
	t.Logf("first video frame: cold median %.1f ms p90 %.1f; warm median %.1f ms p90 %.1f", b.ColdMedian, b.ColdP90, b.WarmMedian, b.WarmP90)
}

// ffprobeDuration returns the duration ffprobe reads, failing on any error
// it prints.
func ffprobeDuration(t *testing.T, path string) float64 {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("no ffprobe")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var r struct{ Format struct{ Duration string } }
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe printed errors or no JSON: %v\n%s", err, out)
	}
	d, _ := strconv.ParseFloat(r.Format.Duration, 64)
	return d
}

// TestDemoLiveStats checks the first viewer's live stats line on stderr:
// redrawn in place with '\r' on a terminal; on a pipe or file (kvsrtc demo
// 2>&1 | cat) whole lines, one per 5 s, and not a single '\r'.
func TestDemoLiveStats(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tty     bool
		seconds string
	}{
		{"terminal", true, "2"},
		{"piped", false, "6"}, // one 5 s report
	} {
		t.Run(tc.name, func(t *testing.T) {
			cliEnv(t)
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			code := Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, ErrTTY: tc.tty},
				[]string{"demo", "--seconds", tc.seconds, "--dir", t.TempDir()})
			elapsed := time.Since(start)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), "viewer viewer-1 timeline:") {
				t.Errorf("no final summary on stdout:\n%s", out.String())
			}
			e := errOut.String()
			var stats []string
			for _, l := range strings.Split(e, "\n") {
				if strings.Contains(l, "video h264") {
					stats = append(stats, l)
				}
			}
			if tc.tty {
				if !strings.Contains(e, "\rvideo h264") || !strings.HasSuffix(e, "\n") {
					t.Errorf("terminal: want the line redrawn with '\\r' and ended with a newline:\n%q", e)
				}
				return
			}
			if strings.Contains(e, "\r") {
				t.Errorf("piped stderr has '\\r':\n%q", e)
			}
			if max := int(elapsed/liveEveryPiped) + 1; len(stats) == 0 || len(stats) > max {
				t.Errorf("piped: %d stats lines in %v, want 1 to %d:\n%s", len(stats), elapsed, max, e)
			}
			for _, l := range stats {
				if !strings.HasPrefix(l, "video h264 ") || !strings.Contains(l, " fps ") {
					t.Errorf("piped stats line %q", l)
				}
			}
		})
	}
}
