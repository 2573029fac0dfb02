package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// ttffRounds is how many times each viewer connects; medians are compared.
const ttffRounds = 3

// TestTimeToFirstFrame measures, in one run against one `kvsrtc master` and
// one emulator, the time to first frame of the Chromium + KVS JS SDK viewer
// (static/viewer.html) and of `kvsrtc viewer`, alternating, and prints
// both medians and their ratio (also kept as ttff.txt and ttff.json in the
// artifacts).
//
// Both clocks start when the client starts its work (the page's script,
// after the page and its scripts loaded; the kvsrtc viewer's run, after
// the process started) and cover the same steps: endpoints, ICE servers,
// WSS, offer/answer, ICE, DTLS, first frame. The browser's first frame is
// the first one presented by the video element (decoded);
// kvsrtc's is the first frame received whole (it records, not decodes).
// Browser launch and process start are reported apart.
func TestTimeToFirstFrame(t *testing.T) {
	ev := newEnv(t, "race")
	startMaster(t, ev)
	var browserMs, goMs, launchMs, goWallMs []float64
	for i := range ttffRounds {
		// A fresh client id per connection, as a fresh page would have.
		cfg := browserViewerConfig(ev, fmt.Sprintf("chromium-ttff-%d", i), 10, 0.3)
		pages := pageServer(t, cfg)
		res := browse(t, ev.home, pages.URL+"/static/viewer.html", fmt.Sprintf("ttff-chromium-%d.png", i), 30*time.Second)
		var v viewerResult
		if err := json.Unmarshal(res.Result, &v); err != nil {
			t.Fatal(err)
		}
		checkPlayed(t, v, 10, 0.3)
		browserMs = append(browserMs, v.FirstFrameMs)
		launchMs = append(launchMs, res.LaunchMs)

		start := time.Now()
		g := runGoViewer(t, ev, fmt.Sprintf("kvsrtc-ttff-%d", i), 0.5, "")
		goWallMs = append(goWallMs, float64(time.Since(start).Microseconds())/1000)
		if g.Stats.Video.Frames < 10 || g.firstFrameMs() <= 0 {
			t.Fatalf("kvsrtc viewer round %d: %d frames, first frame at %.1f ms", i, g.Stats.Video.Frames, g.firstFrameMs())
		}
		goMs = append(goMs, g.firstFrameMs())
	}
	b, g := median(browserMs), median(goMs)
	var sb strings.Builder
	fmt.Fprintf(&sb, "time to first frame, same kvsrtc master and emulator, loopback-only netns, median of %d:\n", ttffRounds)
	fmt.Fprintf(&sb, "  Chromium + KVS JS SDK viewer  %7.1f ms  (runs %s; browser launch %s ms, not included)\n", b, list(browserMs), list(launchMs))
	fmt.Fprintf(&sb, "  kvsrtc viewer                 %7.1f ms  (runs %s; whole process incl. 0.5 s of media %s ms)\n", g, list(goMs), list(goWallMs))
	fmt.Fprintf(&sb, "  ratio Chromium / kvsrtc       %7.2f\n", b/g)
	t.Log("\n" + sb.String())
	if err := os.WriteFile(artifact(t, "ttff.txt"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	j, _ := json.MarshalIndent(map[string]any{"chromiumMs": browserMs, "kvsrtcMs": goMs, "chromiumMedianMs": b, "kvsrtcMedianMs": g,
		"ratio": b / g, "chromiumLaunchMs": launchMs, "kvsrtcProcessWallMs": goWallMs}, "", "  ")
	if err := os.WriteFile(artifact(t, "ttff.json"), j, 0o644); err != nil {
		t.Fatal(err)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func list(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, ", ")
}
