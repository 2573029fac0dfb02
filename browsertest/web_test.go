package browsertest

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startWeb runs `kvsrtc web` on the channel until the test ends and
// returns the URL it serves.
func startWeb(t *testing.T, ev *env, args ...string) string {
	t.Helper()
	var stderr syncBuffer
	cmd := exec.Command(shared.kvsrtc, append([]string{"web", "--channel-arn", ev.arn.String(), "--listen", "127.0.0.1:0", "--json", "-v"}, args...)...)
	cmd.Env = kvsrtcEnv(t, ev.e)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kvsrtc web: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("kvsrtc web after SIGTERM: %v\n%s", err, stderr.String())
		}
		t.Logf("kvsrtc web log:\n%s", stderr.String())
	})
	var out struct {
		URL string `json:"url"`
	}
	got := make(chan error, 1)
	go func() { got <- json.NewDecoder(bufio.NewReader(stdout)).Decode(&out) }()
	select {
	case err := <-got:
		if err != nil || !strings.HasPrefix(out.URL, "http://127.0.0.1:") {
			t.Fatalf("kvsrtc web printed url %q (%v)\n%s", out.URL, err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("kvsrtc web printed no url in 15 s\n%s", stderr.String())
	}
	return out.URL
}

// TestWeb views `kvsrtc master` through `kvsrtc web`: the page plays the
// video with the KVS JS SDK signing nothing, shows the timeline and stats,
// and nothing the browser received (HTTP bodies, headers, WebSocket frames)
// contains the secret key; the access key id appears only as the
// X-Amz-Credential of the short-lived presigned URL.
func TestWeb(t *testing.T) {
	ev := newEnv(t, "cam")
	startMaster(t, ev)
	base := startWeb(t, ev, "--url-expires", "30s")
	capture := artifact(t, "web-received.txt")
	res := browse(t, ev.home, base+"?frames=60&seconds=2", "web.png", 40*time.Second, map[string]any{"capture": capture})
	var v struct {
		viewerResult
		Session struct {
			ClientID string
			Expires  time.Time
			Endpoint string
		}
	}
	if err := json.Unmarshal(res.Result, &v); err != nil {
		t.Fatalf("page result %s: %v", res.Result, err)
	}
	checkPlayed(t, v.viewerResult, 60, 2)
	if !regexp.MustCompile(`^web-[0-9a-f]{8}$`).MatchString(v.Session.ClientID) {
		t.Errorf("client id %q, want web-<8 hex>", v.Session.ClientID)
	}
	if left := time.Until(v.Session.Expires); left <= 0 || left > 30*time.Second {
		t.Errorf("presigned URL expires in %v, want within 30 s", left)
	}
	var steps []string
	for _, s := range v.Timeline {
		steps = append(steps, s.What)
	}
	for _, want := range []string{"start", "session", "signaling open", "offer sent", "answer", "track video", "ice connected", "peer connected", "first video frame"} {
		if !slices.Contains(steps, want) {
			t.Errorf("timeline %v lacks %q", steps, want)
		}
	}

	// What the browser received.
	b, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	c := ev.e.Credential()
	if strings.Contains(got, c.SecretAccessKey) {
		t.Fatalf("the secret access key reached the browser (see %s)", capture)
	}
	if !strings.Contains(got, "/api/session") || !strings.Contains(got, "WEBSOCKET wss://") || !strings.Contains(got, "SDP_ANSWER") {
		t.Fatalf("capture %s lacks the session, the WebSocket or the answer: the check above proves nothing", capture)
	}
	cred := regexp.MustCompile(`X-Amz-Credential=` + regexp.QuoteMeta(c.AccessKeyID) + `%2F`)
	if n, m := strings.Count(got, c.AccessKeyID), len(cred.FindAllStringIndex(got, -1)); n != m {
		t.Errorf("the access key id appears %d times, only %d of them as X-Amz-Credential of a presigned URL", n, m)
	}
	// The WebSocket the page opened is the presigned URL, with the short expiry.
	for _, line := range strings.Split(got, "\n") {
		if rest, ok := strings.CutPrefix(line, "WEBSOCKET "); ok {
			u, err := url.Parse(rest)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("X-Amz-Expires") != "30" || q.Get("X-Amz-ClientId") != v.Session.ClientID || q.Get("X-Amz-Signature") == "" {
				t.Errorf("WebSocket URL query %v: want X-Amz-Expires=30, the session's client id and a signature", redactedKeys(q))
			}
		}
	}
	t.Logf("kvsrtc web viewer: first frame %.1f ms after page start, %d frames decoded, %.2f s played",
		v.FirstFrameMs, v.Video.FramesDecoded, v.Video.CurrentTime)
}

func redactedKeys(q url.Values) map[string]string {
	m := map[string]string{}
	for k := range q {
		m[k] = q.Get(k)
		if k == "X-Amz-Signature" {
			m[k] = "****"
		}
	}
	return m
}
