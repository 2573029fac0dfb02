package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// goViewer is the part of `kvsrtc viewer --json` the tests read.
type goViewer struct {
	ClientID string `json:"clientId"`
	Timeline struct {
		Steps []struct {
			Name  string  `json:"name"`
			EndMs float64 `json:"endMs"`
		} `json:"steps"`
	} `json:"timeline"`
	Stats struct {
		Video struct {
			Codec     string `json:"codec"`
			Frames    int64  `json:"frames"`
			Keyframes int64  `json:"keyframes"`
		} `json:"video"`
	} `json:"stats"`
	Error string `json:"error"`
}

// firstFrameMs is the end of the firstVideoFrame step: from the viewer's
// start to the first whole video frame.
func (v goViewer) firstFrameMs() float64 {
	for _, s := range v.Timeline.Steps {
		if s.Name == "firstVideoFrame" {
			return s.EndMs
		}
	}
	return 0
}

// runGoViewer runs `kvsrtc viewer` on the channel for seconds of media,
// recording to record if set.
func runGoViewer(t *testing.T, ev *env, clientID string, seconds float64, record string) goViewer {
	t.Helper()
	args := []string{"viewer", "--channel-arn", ev.arn.String(), "--client-id", clientID, "--seconds", strconv.FormatFloat(seconds, 'f', -1, 64), "--json"}
	if record != "" {
		args = append(args, "--record", record)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds*float64(time.Second))+30*time.Second)
	defer cancel()
	var v goViewer
	if err := json.Unmarshal(runKvsrtc(t, ctx, ev.e, args...), &v); err != nil {
		t.Fatalf("kvsrtc viewer output: %v", err)
	}
	if v.Error != "" {
		t.Fatalf("kvsrtc viewer: %s", v.Error)
	}
	return v
}

// probe decodes every frame of the recording's video stream with ffprobe.
type probe struct {
	Codec  string
	Width  int
	Height int
	Frames int
}

func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	var r struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	s := r.Streams[0]
	n, _ := strconv.Atoi(s.NbReadFrames)
	return probe{Codec: s.CodecName, Width: s.Width, Height: s.Height, Frames: n}
}

// TestBrowserMaster is scenario 2: Chromium is the master, sending a canvas
// capture stream through the KVS JS SDK, and `kvsrtc viewer` receives and
// records it; ffprobe decodes the recording.
func TestBrowserMaster(t *testing.T) {
	ev := newEnv(t, "canvas")
	var stop atomic.Bool
	cfg := browserViewerConfig(ev, "", 0, 0)
	delete(cfg, "clientId")
	pages := pageServer(t, cfg, map[string]http.HandlerFunc{
		"GET /stop": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]bool{"stop": stop.Load()})
		},
	})
	page := make(chan browserResult, 1)
	go func() {
		page <- tryBrowse(t, ev.home, pages.URL+"/static/master.html", "master-canvas.png", 60*time.Second)
	}()
	// The browser is the master once it is connected.
	deadline := time.Now().Add(30 * time.Second)
	for up := false; !up; up, _ = ev.e.Connections(ev.arn.String()) {
		select {
		case res := <-page:
			t.Fatalf("the master page ended before connecting: %s\nconsole:\n  %s", res.Error, strings.Join(res.Console, "\n  "))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop.Store(true)
			t.Fatalf("the browser master did not connect in 30 s: %+v", <-page)
		}
	}
	rec := artifact(t, "browser-master-recording.mkv")
	v := runGoViewer(t, ev, "kvsrtc-viewer-1", 3, rec)
	stop.Store(true)
	res := <-page
	if !res.OK {
		t.Fatalf("browser master: %s\npartial: %s\nconsole:\n  %s", res.Error, res.Partial, strings.Join(res.Console, "\n  "))
	}
	var out struct {
		Drawn int
		Sent  map[string]struct {
			FramesEncoded, FramesSent, KeyFramesEncoded, FrameWidth, FrameHeight int
			Codec                                                                string
		}
	}
	if err := json.Unmarshal(res.Result, &out); err != nil {
		t.Fatal(err)
	}
	sent, ok := out.Sent["kvsrtc-viewer-1"]
	if !ok || sent.FramesEncoded < 60 || sent.FrameWidth != 640 {
		t.Errorf("browser sent %+v to kvsrtc-viewer-1, want at least 60 frames of 640x480", out.Sent)
	}
	if v.Stats.Video.Frames < 60 || v.Stats.Video.Keyframes < 1 {
		t.Errorf("kvsrtc viewer got %d video frames (%d key), want at least 60 and a keyframe", v.Stats.Video.Frames, v.Stats.Video.Keyframes)
	}
	p := ffprobe(t, rec)
	if !strings.EqualFold("video/"+p.Codec, sent.Codec) {
		t.Errorf("recording's codec %q, browser sent %q", p.Codec, sent.Codec)
	}
	if p.Frames < 60 || p.Width != 640 || p.Height != 480 {
		t.Errorf("ffprobe decoded %+v from the recording, want at least 60 frames of 640x480", p)
	}
	t.Logf("browser master → kvsrtc viewer: %s, browser encoded %d, viewer received %d, ffprobe decoded %d %s frames %dx%d; first frame %.1f ms",
		sent.Codec, sent.FramesEncoded, v.Stats.Video.Frames, p.Frames, p.Codec, p.Width, p.Height, v.firstFrameMs())
}
