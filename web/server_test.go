package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/internal/jsrun"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/web"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

type fixture struct {
	e   *emulator.Emulator
	cfg aws.Config
	arn channel.ARN
	srv *httptest.Server
}

func start(t *testing.T, optFns ...func(*web.Options)) *fixture {
	t.Helper()
	e := emulatortest.Start(t, emulator.Options{})
	cfg := emulatortest.Config(e)
	out, err := kinesisvideo.NewFromConfig(cfg).CreateSignalingChannel(context.Background(),
		&kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("cam")})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := channel.ParseARN(aws.ToString(out.ChannelARN))
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Options{Resolver: resolve.New(cfg, resolve.Options{STUNURL: e.STUNURL()}),
		Credentials: cfg.Credentials, ChannelARN: arn}, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fixture{e: e, cfg: cfg, arn: arn, srv: srv}
}

func get(t *testing.T, u string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// A session opens the signaling WebSocket as a viewer, expires on time
// and holds no secret key.
func TestSession(t *testing.T) {
	f := start(t, func(o *web.Options) { o.URLExpires = 20 * time.Second })
	code, body := get(t, f.srv.URL+"/api/session", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if code != http.StatusOK {
		t.Fatalf("GET /api/session: %d %s", code, body)
	}
	if bytes.Contains(body, []byte(f.e.Credential().SecretAccessKey)) {
		t.Fatal("the session holds the secret access key")
	}
	var s web.Session
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s.SignedURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	switch {
	case s.ChannelARN != f.arn.String(), s.Region != f.e.Region():
		t.Errorf("session channel %s in %s", s.ChannelARN, s.Region)
	case !strings.HasPrefix(s.ClientID, "web-") || q.Get("X-Amz-ClientId") != s.ClientID:
		t.Errorf("client id %q, URL's %q", s.ClientID, q.Get("X-Amz-ClientId"))
	case q.Get("X-Amz-Expires") != "20" || q.Get("X-Amz-ChannelARN") != f.arn.String():
		t.Errorf("URL query %v", q)
	case !strings.HasPrefix(s.SignedURL, s.Endpoint+"?") || !strings.Contains(s.Endpoint, "/v-"):
		t.Errorf("signed URL not on the viewer endpoint %s", s.Endpoint)
	case time.Until(s.Expires) > 20*time.Second || time.Until(s.Expires) < 15*time.Second:
		t.Errorf("expires in %v, want about 20 s", time.Until(s.Expires))
	case len(s.ICEServers) < 2 || s.ICEServers[0].URLs[0] != f.e.STUNURL() || s.ICEServers[1].Credential == "":
		t.Errorf("ice servers %+v: want STUN first, then TURN with credentials", s.ICEServers)
	}
	// The URL opens the WebSocket as this viewer.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.SignedURL, &websocket.DialOptions{HTTPClient: emulatortest.HTTPClient(f.e)})
	if err != nil {
		t.Fatalf("dial the presigned URL: %v", err)
	}
	defer c.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, viewers := f.e.Connections(f.arn.String()); len(viewers) == 1 && viewers[0] == s.ClientID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("viewer %s not connected", s.ClientID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Close(websocket.StatusNormalClosure, "")

	// Each session has its own client id.
	_, body2 := get(t, f.srv.URL+"/api/session", nil)
	var s2 web.Session
	if err := json.Unmarshal(body2, &s2); err != nil || s2.ClientID == s.ClientID {
		t.Errorf("second session client id %q (%v), first %q", s2.ClientID, err, s.ClientID)
	}
}

func TestCrossSiteRefused(t *testing.T) {
	f := start(t)
	code, body := get(t, f.srv.URL+"/api/session", map[string]string{"Sec-Fetch-Site": "cross-site"})
	if code != http.StatusForbidden || bytes.Contains(body, []byte("X-Amz")) {
		t.Errorf("cross-site: %d %s, want 403 without a URL", code, body)
	}
	if f.e.Requests("GetSignalingChannelEndpoint") != 0 {
		t.Errorf("a refused request called the service")
	}
}

// The page, its script and the KVS JS SDK bundle are served; the bundle is
// byte for byte the pinned npm package's dist/kvs-webrtc.min.js.
func TestStatic(t *testing.T) {
	f := start(t)
	code, page := get(t, f.srv.URL+"/", nil)
	if code != http.StatusOK || !bytes.Contains(page, []byte(`src="/kvs-webrtc.min.js"`)) {
		t.Fatalf("GET /: %d %s", code, page)
	}
	for _, p := range []string{"/viewer.js", "/viewer.css", "/kvs-webrtc.LICENSE", "/kvs-webrtc.NOTICE.txt"} {
		if code, _ := get(t, f.srv.URL+p, nil); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code, _ := get(t, f.srv.URL+"/nope", nil); code != http.StatusNotFound {
		t.Errorf("GET /nope: %d", code)
	}
	_, served := get(t, f.srv.URL+"/kvs-webrtc.min.js", nil)
	if err := jsrun.Check(); err != nil {
		t.Fatal(err)
	}
	dir, err := jsrun.Dir()
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := os.ReadFile(filepath.Join(dir, "node_modules", "amazon-kinesis-video-streams-webrtc", "dist", "kvs-webrtc.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, pinned) {
		t.Errorf("web/static/kvs-webrtc.min.js differs from the pinned npm package's (copy it again after an upgrade)")
	}
}

func TestNewErrors(t *testing.T) {
	arn, _ := channel.ParseARN("arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700506395046")
	r := resolve.New(aws.Config{Region: "us-west-2"}, resolve.Options{})
	creds := aws.AnonymousCredentials{}
	for _, tc := range []struct {
		name string
		opts web.Options
		in   string
	}{
		{"no resolver", web.Options{Credentials: creds, ChannelARN: arn}, "no resolver"},
		{"no credentials", web.Options{Resolver: r, ChannelARN: arn}, "no credentials"},
		{"no channel", web.Options{Resolver: r, Credentials: creds}, "web: "},
		{"expiry", web.Options{Resolver: r, Credentials: creds, ChannelARN: arn, URLExpires: 8 * 24 * time.Hour}, "outside 1s"},
		{"prefix", web.Options{Resolver: r, Credentials: creds, ChannelARN: arn, ClientIDPrefix: "a b"}, "client id prefix"},
	} {
		if _, err := web.New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.in)
		}
	}
}
