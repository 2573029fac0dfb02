package browsertest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// viewerResult is what static/viewer.html and the kvsrtc web page report.
type viewerResult struct {
	Video struct {
		CurrentTime        float64
		VideoWidth         int
		VideoHeight        int
		TotalVideoFrames   int
		DroppedVideoFrames int
		FramesDecoded      int
		KeyFramesDecoded   int
		Codec              string
		BytesReceived      int64
	}
	FirstFrameMs float64
	SelectedPair struct{ Local, Remote string }
	Timeline     []struct {
		At   float64
		What string
	}
}

// browserViewerConfig is what static/viewer.html needs: the emulator, its
// development credential (not a secret: it opens only emulators), the
// channel and how much video counts as playing.
func browserViewerConfig(ev *env, clientID string, minFrames int, minSeconds float64) map[string]any {
	c := ev.e.Credential()
	return map[string]any{
		"endpoint": ev.e.URL(), "region": ev.e.Region(), "stunURL": ev.e.STUNURL(),
		"accessKeyId": c.AccessKeyID, "secretAccessKey": c.SecretAccessKey,
		"channelARN": ev.arn.String(), "clientId": clientID,
		"minFrames": minFrames, "minSeconds": minSeconds, "timeoutMs": 20000,
	}
}

// checkPlayed asserts that the page decoded and played real video from the
// demo clip (640x480 H.264).
func checkPlayed(t *testing.T, v viewerResult, minFrames int, minSeconds float64) {
	t.Helper()
	got := v.Video
	if got.FramesDecoded < minFrames || got.TotalVideoFrames < minFrames {
		t.Errorf("decoded %d frames (playback quality: %d), want at least %d", got.FramesDecoded, got.TotalVideoFrames, minFrames)
	}
	if got.KeyFramesDecoded < 1 {
		t.Errorf("no keyframe decoded")
	}
	if got.CurrentTime < minSeconds {
		t.Errorf("video currentTime %.2f s, want at least %.2f s", got.CurrentTime, minSeconds)
	}
	if got.VideoWidth != 640 || got.VideoHeight != 480 {
		t.Errorf("video is %dx%d, want the demo clip's 640x480", got.VideoWidth, got.VideoHeight)
	}
	if !strings.EqualFold(got.Codec, "video/H264") {
		t.Errorf("codec %q, want video/H264", got.Codec)
	}
	if v.FirstFrameMs <= 0 {
		t.Errorf("no first frame time")
	}
	// Chromium does not show a remote peer-reflexive candidate's address to
	// the page (it reads "prflx :port"): the master's check came before its
	// trickled candidate. The namespace has only lo, so that is loopback too.
	hiddenPrflx := strings.HasPrefix(v.SelectedPair.Remote, "prflx :")
	if !strings.Contains(v.SelectedPair.Local, "127.0.0.1") || !(strings.Contains(v.SelectedPair.Remote, "127.0.0.1") || hiddenPrflx) {
		t.Errorf("selected candidate pair %+v: want loopback on both sides", v.SelectedPair)
	}
}

// TestBrowserViewer is scenario 1: Chromium with the AWS JS SDK v3 and the
// KVS WebRTC JS SDK's browser bundle views `kvsrtc master`'s demo clip,
// and the video element really plays it.
func TestBrowserViewer(t *testing.T) {
	ev := newEnv(t, "cam")
	startMaster(t, ev)
	pages := pageServer(t, browserViewerConfig(ev, "chromium-viewer-1", 60, 2))
	res := browse(t, ev.home, pages.URL+"/static/viewer.html", "viewer-js-sdk.png", 40*time.Second)
	var v viewerResult
	if err := json.Unmarshal(res.Result, &v); err != nil {
		t.Fatalf("page result %s: %v", res.Result, err)
	}
	checkPlayed(t, v, 60, 2)
	t.Logf("Chromium viewer: first frame %.1f ms, %d frames decoded, %.2f s played, pair %s ↔ %s",
		v.FirstFrameMs, v.Video.FramesDecoded, v.Video.CurrentTime, v.SelectedPair.Local, v.SelectedPair.Remote)
}
