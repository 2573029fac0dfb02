package creds

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	testAuth   = "Bearer auth-VALUE-7f3c9e"
	testRegion = "eu-west-1"
	testARN    = "arn:aws:kinesisvideo:eu-west-1:123456789012:channel/demo/1700506395046"
)

// backend is the user's credentials endpoint, faked with httptest. It counts
// hits and records the Authorization header of the last one.
type backend struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu   sync.Mutex
	auth []string
	// respond writes the answer to hit number n (1-based).
	respond func(w http.ResponseWriter, r *http.Request, n int64)
}

func newBackend(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int64)) *backend {
	t.Helper()
	b := &backend{respond: respond}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := b.hits.Add(1)
		b.mu.Lock()
		b.auth = append(b.auth, r.Header.Get("Authorization"))
		b.mu.Unlock()
		b.respond(w, r, n)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) url() string { return b.srv.URL + "/creds" }

func (b *backend) authHeaders() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.auth...)
}

// jsonAnswer answers with v as JSON.
func jsonAnswer(v any) func(http.ResponseWriter, *http.Request, int64) {
	return func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

// isolate keeps the host's AWS configuration out of a test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_CA_BUNDLE":                          "",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		DefaultAuthEnv:                           "",
	} {
		t.Setenv(k, v)
	}
}

// logBuffer is a goroutine-safe sink for slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func debugLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestLoadShapes(t *testing.T) {
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name       string
		answer     any
		wantToken  string
		wantRegion string
		wantARN    string
		wantExpiry bool
	}{
		{"short shape", map[string]any{"ak": testAK, "sk": testSK, "token": testToken, "region": testRegion, "arn": testARN, "expiration": exp.Format(time.RFC3339)},
			testToken, testRegion, testARN, true},
		{"short shape, epoch milliseconds", map[string]any{"ak": testAK, "sk": testSK, "expiration": exp.UnixMilli()},
			"", "", "", true},
		{"short shape, epoch seconds", map[string]any{"ak": testAK, "sk": testSK, "token": testToken, "expiration": exp.Unix()},
			testToken, "", "", true},
		{"container shape", map[string]any{"AccessKeyId": testAK, "SecretAccessKey": testSK, "Token": testToken, "Expiration": exp.Format(time.RFC3339), "RoleArn": "arn:aws:iam::123456789012:role/r"},
			testToken, "", "", true},
		{"long-term keys", map[string]any{"ak": testAK, "sk": testSK}, "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			b := newBackend(t, jsonAnswer(tt.answer))
			res, err := Load(context.Background(), Options{CredentialsURL: b.url(), HTTPClient: b.srv.Client()})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			c, err := res.Config.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if c.AccessKeyID != testAK || c.SecretAccessKey != testSK || c.SessionToken != tt.wantToken || c.Source != URLSource {
				t.Errorf("credentials = %s/%v/%v/%s", c.AccessKeyID, c.SecretAccessKey == testSK, c.SessionToken == tt.wantToken, c.Source)
			}
			if c.CanExpire != tt.wantExpiry {
				t.Errorf("CanExpire = %v, want %v", c.CanExpire, tt.wantExpiry)
			}
			if tt.wantExpiry && (!c.Expires.Before(exp) || c.Expires.Before(exp.Add(-DefaultExpiryWindow))) {
				t.Errorf("cached Expires = %v, want within %v before %v", c.Expires, DefaultExpiryWindow, exp)
			}
			if res.Region != tt.wantRegion || res.Config.Region != tt.wantRegion || res.ChannelARN != tt.wantARN {
				t.Errorf("Region = %q (config %q), ChannelARN = %q; want %q, %q", res.Region, res.Config.Region, res.ChannelARN, tt.wantRegion, tt.wantARN)
			}
			if res.URLProvider == nil || res.URLProvider.ChannelARN() != tt.wantARN {
				t.Errorf("URLProvider = %v", res.URLProvider)
			}
			if n := b.hits.Load(); n != 1 {
				t.Errorf("backend hit %d times, want 1 (Load fetches, Retrieve uses the cache)", n)
			}
		})
	}
}

func TestLoadRegionPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		optsRegion string
		envRegion  string
		urlRegion  string
		want       string
	}{
		{"option beats URL", "us-east-1", "", testRegion, "us-east-1"},
		{"URL beats environment", "", "ap-south-1", testRegion, testRegion},
		{"environment when URL has none", "", "ap-south-1", "", "ap-south-1"},
		{"none at all", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_REGION", tt.envRegion)
			answer := map[string]any{"ak": testAK, "sk": testSK}
			if tt.urlRegion != "" {
				answer["region"] = tt.urlRegion
			}
			b := newBackend(t, jsonAnswer(answer))
			res, err := Load(context.Background(), Options{Region: tt.optsRegion, CredentialsURL: b.url(), HTTPClient: b.srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Region != tt.want || res.Config.Region != tt.want {
				t.Errorf("Region = %q, Config.Region = %q, want %q", res.Region, res.Config.Region, tt.want)
			}
		})
	}
}

func TestAuthorizationHeader(t *testing.T) {
	tests := []struct {
		name    string
		envName string // Options.CredentialsURLAuthEnv
		set     map[string]string
		want    string
	}{
		{"default variable set", "", map[string]string{DefaultAuthEnv: testAuth}, testAuth},
		{"default variable unset", "", nil, ""},
		{"own variable", "MY_BACKEND_AUTH", map[string]string{"MY_BACKEND_AUTH": testAuth, DefaultAuthEnv: "Bearer wrong"}, testAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.set {
				t.Setenv(k, v)
			}
			b := newBackend(t, jsonAnswer(map[string]any{"ak": testAK, "sk": testSK}))
			if _, err := Load(context.Background(), Options{CredentialsURL: b.url(), CredentialsURLAuthEnv: tt.envName, HTTPClient: b.srv.Client()}); err != nil {
				t.Fatal(err)
			}
			if got := b.authHeaders(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("Authorization headers = %q, want [%q]", got, tt.want)
			}
		})
	}
}

// TestRefreshBeforeExpiry checks that the cache fetches again before the
// credentials expire, and not while they are fresh. The backend's credentials
// expire within the expiry window, so the cache must treat them as due at once:
// no sleeping, no clock.
func TestRefreshBeforeExpiry(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		window   time.Duration
		wantHits int64 // after Load and three Retrieves
	}{
		{"expires within the default window", 2 * time.Minute, 0, 4},
		{"expires within a short window", 30 * time.Second, time.Minute, 4},
		{"expires well after the window", time.Hour, 0, 1},
		{"never expires", 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			b := newBackend(t, func(w http.ResponseWriter, _ *http.Request, n int64) {
				answer := map[string]any{"ak": fmt.Sprintf("AKID%d", n), "sk": testSK, "token": testToken}
				if tt.lifetime > 0 {
					answer["expiration"] = time.Now().Add(tt.lifetime).Format(time.RFC3339)
				}
				jsonAnswer(answer)(w, nil, n)
			})
			res, err := Load(context.Background(), Options{CredentialsURL: b.url(), HTTPClient: b.srv.Client(), ExpiryWindow: tt.window})
			if err != nil {
				t.Fatal(err)
			}
			var last string
			for range 3 {
				c, err := res.Config.Credentials.Retrieve(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				last = c.AccessKeyID
			}
			if n := b.hits.Load(); n != tt.wantHits {
				t.Errorf("backend hit %d times, want %d", n, tt.wantHits)
			}
			if want := fmt.Sprintf("AKID%d", tt.wantHits); last != want {
				t.Errorf("last credentials %s, want the newest, %s", last, want)
			}
		})
	}
}

func TestURLErrors(t *testing.T) {
	write := func(status int, ctype, body string) func(http.ResponseWriter, *http.Request, int64) {
		return func(w http.ResponseWriter, _ *http.Request, _ int64) {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name    string
		auth    string
		respond func(http.ResponseWriter, *http.Request, int64)
		status  int
		msg     string // after "credentials URL <url>"
		cause   error
	}{
		{"HTTP 500", "", write(500, "text/plain", "boom: database\tdown\n"), 500,
			`: answered 500 Internal Server Error (body "boom: database down")`, nil},
		{"HTTP 500 echoing credentials", "", write(500, "application/json", `{"error":"bad","sk":"`+testSK+`"}`), 500,
			`: answered 500 Internal Server Error (body withheld: it may contain credentials)`, nil},
		{"HTTP 502 echoing the Authorization value", testAuth, write(502, "text/plain", "upstream said "+testAuth), 502,
			`: answered 502 Bad Gateway (body withheld: it may contain credentials)`, nil},
		{"HTTP 503 with a long body", "", write(503, "text/plain", strings.Repeat("overloaded ", 30)), 503,
			`: answered 503 Service Unavailable (body "` + strings.TrimSpace(strings.Repeat("overloaded ", 11)) + `"…)`, nil},
		{"HTTP 401 without auth", "", write(401, "text/plain", ""), 401,
			`: answered 401 Unauthorized (empty body); no Authorization header was sent: set $KVSRTC_CREDENTIALS_AUTH`, nil},
		{"HTTP 403 with auth", testAuth, write(403, "text/plain", "nope"), 403,
			`: answered 403 Forbidden (body "nope"); the Authorization header from $KVSRTC_CREDENTIALS_AUTH was refused`, nil},
		{"HTML login page", "", write(200, "text/html", "<!doctype html><title>Sign in</title>"), 200,
			`: response is not JSON: it looks like HTML (is the URL right?)`, ErrInvalidResponse},
		{"not JSON", "", write(200, "text/plain", "ak="+testAK+"&sk="+testSK), 200,
			`: response is not JSON: syntax error at byte 1`, ErrInvalidResponse},
		{"missing sk", "", write(200, "application/json", `{"ak":"`+testAK+`","token":"`+testToken+`"}`), 200,
			`: response is missing "sk"`, ErrInvalidResponse},
		{"too large", "", write(200, "application/json", `{"ak":"`+strings.Repeat("a", 70<<10)+`"}`), 200,
			`: response is larger than 64 KiB`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv(DefaultAuthEnv, tt.auth)
			b := newBackend(t, tt.respond)
			var logs logBuffer
			_, err := Load(context.Background(), Options{CredentialsURL: b.url() + "?key=QUERYSECRET", HTTPClient: b.srv.Client(), Logger: debugLogger(&logs)})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			want := "get credentials: credentials URL " + b.url() + "?…" + tt.msg
			if err.Error() != want {
				t.Errorf("error\n got %s\nwant %s", err, want)
			}
			var ue *URLError
			if !errors.As(err, &ue) || ue.StatusCode != tt.status {
				t.Errorf("error %v is not a *URLError with status %d", err, tt.status)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not match %v", err, tt.cause)
			}
			assertNoSecrets(t, "error", err.Error())
			assertNoSecrets(t, "log", logs.String())
		})
	}
}

func TestURLTimeout(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, func(_ http.ResponseWriter, r *http.Request, _ int64) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	p, err := NewURLProvider(URLProviderOptions{URL: b.url(), HTTPClient: b.srv.Client(), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	want := "credentials URL " + b.url() + ": no answer within 50ms: context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not match context.DeadlineExceeded", err)
	}
}

func TestURLUnreachable(t *testing.T) {
	b := newBackend(t, jsonAnswer(nil))
	url := b.url()
	client := b.srv.Client()
	b.srv.Close()
	p, err := NewURLProvider(URLProviderOptions{URL: url + "?key=QUERYSECRET", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	var ue *URLError
	if !errors.As(err, &ue) || ue.Reason != "request failed" || ue.Err == nil {
		t.Fatalf("error %v, want a *URLError for a failed request", err)
	}
	if !strings.HasPrefix(err.Error(), "credentials URL "+url+"?…: request failed: ") {
		t.Errorf("error %q", err)
	}
	assertNoSecrets(t, "error", err.Error())
}

func TestURLCanceled(t *testing.T) {
	b := newBackend(t, jsonAnswer(map[string]any{"ak": testAK, "sk": testSK}))
	p, err := NewURLProvider(URLProviderOptions{URL: b.url(), HTTPClient: b.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Retrieve(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Retrieve with a canceled context: %v, want context.Canceled", err)
	}
}

func TestNewURLProviderErrors(t *testing.T) {
	tests := []struct {
		name, url, msg string
	}{
		{"empty", "", "credentials URL is empty"},
		{"unparsable", "http://[::1/creds?key=QUERYSECRET", "credentials URL does not parse as a URL"},
		{"file scheme", "file:///etc/creds?key=QUERYSECRET", `credentials URL file:///etc/creds?…: scheme is "file": want http or https`},
		{"no host", "http:///creds", "credentials URL http:///creds has no host"},
		{"user info", "ftp://user:QUERYSECRET@host/x", `credentials URL ftp://host/x: scheme is "ftp": want http or https`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewURLProvider(URLProviderOptions{URL: tt.url})
			if err == nil || err.Error() != tt.msg {
				t.Errorf("error %v, want %s", err, tt.msg)
			}
		})
	}
}

// TestNoSecretsAnywhere runs a successful load and a set of failures with
// debug logging on, formats every value a caller might print, and checks that
// the secret key, token and Authorization value appear nowhere.
func TestNoSecretsAnywhere(t *testing.T) {
	isolate(t)
	t.Setenv(DefaultAuthEnv, testAuth)
	exp := time.Now().Add(time.Hour).Format(time.RFC3339)
	good := map[string]any{"ak": testAK, "sk": testSK, "token": testToken, "region": testRegion, "arn": testARN, "expiration": exp}
	bodies := []any{
		good,
		map[string]any{"ak": testAK, "sk": testSK, "token": testToken, "region": testSK},
		map[string]any{"ak": testAK, "sk": testSK, "token": testToken, "arn": "arn:aws:kinesisvideo:us-west-2:123456789012:channel/" + testToken + "/1"},
		map[string]any{"ak": testAK, "sk": testSK, "token": testToken, "expiration": testToken},
		map[string]any{"ak": testAK, "SK": testSK, "token": testToken, "region": strings.ToUpper(testSK)},
		map[string]any{"ak": testAK, "token": testToken},
	}
	var logs logBuffer
	var out strings.Builder
	for i, body := range bodies {
		b := newBackend(t, jsonAnswer(body))
		res, err := Load(context.Background(), Options{CredentialsURL: b.url(), HTTPClient: b.srv.Client(), Logger: debugLogger(&logs)})
		if i == 0 {
			if err != nil {
				t.Fatal(err)
			}
			p := res.URLProvider
			debugLogger(&logs).Info("provider", "p", p, "result", res.ChannelARN)
			fmt.Fprintf(&out, "%v %+v %s %#v\n", p, p, p, p.LogValue())
			continue
		}
		if err == nil {
			t.Fatalf("body %d: Load succeeded", i)
		}
		fmt.Fprintf(&out, "%v %+v\n", err, err)
	}
	for _, status := range []int{400, 401, 500} {
		b := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
			w.WriteHeader(status)
			fmt.Fprintf(w, "rejected %s sk=%s token=%s", r.Header.Get("Authorization"), testSK, testToken)
		})
		_, err := Load(context.Background(), Options{CredentialsURL: b.url(), HTTPClient: b.srv.Client(), Logger: debugLogger(&logs)})
		fmt.Fprintf(&out, "%v\n", err)
	}
	assertNoSecrets(t, "errors and formatted values", out.String())
	assertNoSecrets(t, "log", logs.String())
	if !strings.Contains(logs.String(), "fetched credentials") || !strings.Contains(logs.String(), testAK) {
		t.Errorf("debug log lacks the fetch line:\n%s", logs.String())
	}
}

func TestCABundle(t *testing.T) {
	isolate(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"ak": testAK, "sk": testSK})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the "no bundle" case fails the handshake on purpose
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	cert := srv.TLS.Certificates[0].Certificate[0]
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificates here"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		opts   Options
		env    string
		errHas string // "" for success
	}{
		{"bundle option", Options{CABundle: bundle}, "", ""},
		{"AWS_CA_BUNDLE", Options{}, bundle, ""},
		{"no bundle", Options{}, "", "certificate"},
		{"missing file", Options{CABundle: filepath.Join(dir, "nope.pem")}, "", "read CA bundle: open "},
		{"no PEM in file", Options{CABundle: empty}, "", "holds no PEM certificate"},
		{"bundle and client", Options{CABundle: bundle, HTTPClient: srv.Client()}, "", "CA bundle and HTTP client are both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_CA_BUNDLE", tt.env)
			opts := tt.opts
			opts.CredentialsURL = srv.URL
			res, err := Load(context.Background(), opts)
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				closeIdle(res.Config.HTTPClient)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %v, want one containing %q", err, tt.errHas)
			}
		})
	}
}

// closeIdle drops kept-alive connections so goleak sees no reader goroutines.
func closeIdle(c aws.HTTPClient) {
	if ci, ok := c.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
	if g, ok := c.(interface{ GetTransport() *http.Transport }); ok {
		g.GetTransport().CloseIdleConnections()
	}
}
