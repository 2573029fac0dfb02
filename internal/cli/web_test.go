package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/web"
)

// Flags reach the options struct (runF replaces the work).
func TestWebFlags(t *testing.T) {
	cliEnv(t)
	for _, tc := range []struct {
		name    string
		args    []string
		listen  string
		expires time.Duration
	}{
		{"defaults", []string{"--channel-name", "cam"}, "127.0.0.1:8080", web.DefaultURLExpires},
		{"set", []string{"--channel-name", "cam", "--listen", "127.0.0.1:0", "--url-expires", "15s"}, "127.0.0.1:0", 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *webOptions
			cmd := newWebCmd(&IOStreams{}, func(_ context.Context, o *webOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.Listen != tc.listen || got.URLExpires != tc.expires || got.Channel.Name != "cam" {
				t.Errorf("options = %+v", got)
			}
		})
	}
}

func TestWebUsageErrors(t *testing.T) {
	cliEnv(t)
	for _, tc := range []struct {
		args []string
		in   string
	}{
		{[]string{"web", "--channel-name", "cam", "--url-expires", "0s"}, "--url-expires 0s: want 1s to 168h"},
		{[]string{"web", "--channel-name", "cam", "--url-expires", "200h"}, "--url-expires 200h0m0s: want 1s to 168h"},
		{[]string{"web", "--channel-name", "cam", "--listen", "8080"}, `--listen "8080": want host:port`},
		{[]string{"web", "--channel-name", "cam", "--channel-arn", "arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1700506395046"}, "not both"},
	} {
		_, stderr, code := run(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.in) {
			t.Errorf("kvsrtc %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, ExitUsage, tc.in)
		}
	}
}

// A missing channel fails before the server listens, with the not-found
// exit code and hint.
func TestWebChannelNotFound(t *testing.T) {
	startEmulator(t, emulator.Options{}, "cam")
	_, stderr, code := run(t, "web", "--channel-name", "nope", "--listen", "127.0.0.1:0")
	if code != ExitNotFound || !strings.Contains(stderr, "hint: check the channel ARN or name") {
		t.Errorf("exit %d, stderr %q; want %d with a hint", code, stderr, ExitNotFound)
	}
}

// lockedBuffer lets the test read stdout while the command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The server runs until its context ends, serves the page and hands out
// sessions that carry no secret; it then exits 0.
func TestWebServes(t *testing.T) {
	_, arn := startEmulator(t, emulator.Options{}, "cam")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			[]string{"web", "--channel-arn", arn, "--listen", "127.0.0.1:0", "--json", "--url-expires", "20s"})
	}()
	var printed struct{ URL, ChannelArn string }
	deadline := time.Now().Add(10 * time.Second)
	for json.Unmarshal([]byte(out.String()), &printed) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stderr: %s", errOut.String())
		}
		select {
		case code := <-done:
			t.Fatalf("kvsrtc web exited %d: %s", code, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if printed.ChannelArn != arn || !strings.HasPrefix(printed.URL, "http://127.0.0.1:") {
		t.Fatalf("printed %+v", printed)
	}
	get := func(path string) string {
		resp, err := http.Get(printed.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if page := get(""); !strings.Contains(page, `<script src="/viewer.js">`) {
		t.Errorf("page lacks viewer.js: %s", page)
	}
	body := get("api/session")
	var s web.Session
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.ChannelARN != arn || !strings.Contains(s.SignedURL, "X-Amz-Expires=20&") || len(s.ICEServers) == 0 {
		t.Errorf("session = %s", body)
	}
	if strings.Contains(body, emulator.DevCredential.SecretAccessKey) {
		t.Errorf("the session holds the secret key")
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after cancel, want 0; stderr: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("kvsrtc web did not stop")
	}
}
