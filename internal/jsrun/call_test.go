package jsrun

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	testChannelARN = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000"
	errTypeSuffix  = ":https://kinesisvideo.amazonaws.com/doc/2017-09-30/"
)

// callTimeout bounds one node run; starting node and loading the SDK takes
// well under a second.
const callTimeout = 30 * time.Second

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=` + testAKID +
	`/\d{8}/` + testRegion + `/kinesisvideo/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`)

func requireJS(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// assertNoSecrets fails if s contains one of the test secrets.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testToken} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret: %q", what, s)
		}
	}
}

func TestCall(t *testing.T) {
	requireJS(t)

	type iceServer struct {
		Password string
		Ttl      int
		Uris     []string
		Username string
	}
	tests := []struct {
		name     string
		client   string
		op       string
		input    any
		path     string
		resp     response
		wantBody map[string]any
		check    func(t *testing.T, res *Result)
	}{
		{
			name:   "signaling GetIceServerConfig ok",
			client: Signaling,
			op:     "GetIceServerConfig",
			input:  map[string]string{"ChannelARN": testChannelARN, "ClientId": "viewer-1"},
			path:   "/v1/get-ice-server-config",
			resp: response{
				status: http.StatusOK,
				header: map[string]string{"X-Amzn-RequestId": "req-ice-1"},
				body:   `{"IceServerList":[{"Password":"p","Ttl":300,"Uris":["turn:127.0.0.1:3478?transport=udp"],"Username":"1:dg=="}]}`,
			},
			wantBody: map[string]any{"ChannelARN": testChannelARN, "ClientId": "viewer-1"},
			check: func(t *testing.T, res *Result) {
				if !res.OK || res.HTTPStatusCode != 200 || res.RequestID != "req-ice-1" {
					t.Fatalf("result = %+v, want OK, 200, req-ice-1", res)
				}
				var out struct{ IceServerList []iceServer }
				if err := res.Decode(&out); err != nil {
					t.Fatal(err)
				}
				want := []iceServer{{Password: "p", Ttl: 300, Uris: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: "1:dg=="}}
				if !reflect.DeepEqual(out.IceServerList, want) {
					t.Errorf("IceServerList = %+v, want %+v", out.IceServerList, want)
				}
			},
		},
		{
			name:   "signaling GetIceServerConfig ResourceNotFoundException",
			client: Signaling,
			op:     "GetIceServerConfig",
			input:  map[string]string{"ChannelARN": testChannelARN},
			path:   "/v1/get-ice-server-config",
			resp: response{
				status: http.StatusNotFound,
				header: map[string]string{
					"X-Amzn-ErrorType": "ResourceNotFoundException" + errTypeSuffix,
					"X-Amzn-RequestId": "req-ice-2",
				},
				body: `{"message":"nope"}`,
			},
			wantBody: map[string]any{"ChannelARN": testChannelARN},
			check: func(t *testing.T, res *Result) {
				want := Result{Name: "ResourceNotFoundException", Message: "nope", HTTPStatusCode: 404, Fault: "client", RequestID: "req-ice-2"}
				if got := *res; got.Output != nil || !reflect.DeepEqual(withoutStderr(got), want) {
					t.Errorf("result = %+v, want %+v", got, want)
				}
			},
		},
		{
			name:   "kinesisvideo DescribeSignalingChannel ResourceNotFoundException",
			client: KinesisVideo,
			op:     "DescribeSignalingChannel",
			input:  map[string]string{"ChannelName": "demo"},
			path:   "/describeSignalingChannel",
			resp: response{
				status: http.StatusNotFound,
				header: map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException" + errTypeSuffix},
				body:   `{"Message":"x"}`,
			},
			wantBody: map[string]any{"ChannelName": "demo"},
			check: func(t *testing.T, res *Result) {
				if res.OK || res.Name != "ResourceNotFoundException" || res.Message != "x" ||
					res.HTTPStatusCode != 404 || res.Fault != "client" {
					t.Errorf("result = %+v, want ResourceNotFoundException x 404 client", res)
				}
			},
		},
		{
			name:   "kinesisvideo DescribeSignalingChannel ok with timestamp",
			client: KinesisVideo,
			op:     "DescribeSignalingChannel",
			input:  map[string]string{"ChannelName": "demo"},
			path:   "/describeSignalingChannel",
			resp: response{
				status: http.StatusOK,
				body: `{"ChannelInfo":{"ChannelARN":"` + testChannelARN + `","ChannelName":"demo",` +
					`"ChannelStatus":"ACTIVE","ChannelType":"SINGLE_MASTER","CreationTime":1700000000,` +
					`"SingleMasterConfiguration":{"MessageTtlSeconds":60},"Version":"v1"}}`,
			},
			wantBody: map[string]any{"ChannelName": "demo"},
			check: func(t *testing.T, res *Result) {
				var out struct {
					ChannelInfo struct {
						ChannelARN   string
						CreationTime string
					}
				}
				if err := res.Decode(&out); err != nil {
					t.Fatal(err)
				}
				if out.ChannelInfo.ChannelARN != testChannelARN {
					t.Errorf("ChannelARN = %q, want %q", out.ChannelInfo.ChannelARN, testChannelARN)
				}
				// The SDK parses epoch seconds into a Date; JSON.stringify
				// writes it as ISO 8601.
				if want := "2023-11-14T22:13:20.000Z"; out.ChannelInfo.CreationTime != want {
					t.Errorf("CreationTime = %q, want %q", out.ChannelInfo.CreationTime, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, map[string]response{tt.path: tt.resp})

			res, err := Call(callCtx(t), s.env(), tt.client, tt.op, tt.input)
			if err != nil {
				assertNoSecrets(t, "error", err.Error())
				t.Fatal(err)
			}
			assertNoSecrets(t, "stderr", res.Stderr)
			if strings.Contains(res.Stderr, "NodeVersionSupportWarning") {
				t.Errorf("stderr has the SDK's Node version warning:\n%s", res.Stderr)
			}
			tt.check(t, res)

			reqs := s.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1 (retries must be off)", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != tt.path {
				t.Errorf("request = %s %s, want POST %s", r.method, r.path, tt.path)
			}
			if got := r.header.Get("Authorization"); !authRE.MatchString(got) {
				t.Errorf("Authorization = %q, want match %s", got, authRE)
			}
			if got := r.header.Get("X-Amz-Security-Token"); got != testToken {
				t.Errorf("X-Amz-Security-Token = %q, want the session token", got)
			}
			var body map[string]any
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("request body %q: %v", r.body, err)
			}
			if !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("request body = %v, want %v", body, tt.wantBody)
			}
		})
	}
}

func withoutStderr(r Result) Result {
	r.Stderr = ""
	return r
}

// TestCallIsolatedFromParentEnv sets variables in the test process that
// would make node trust the server, skip TLS checks or sign with other
// credentials; none may reach the child.
func TestCallIsolatedFromParentEnv(t *testing.T) {
	requireJS(t)
	s := newFakeServer(t, map[string]response{
		"/v1/get-ice-server-config": {status: http.StatusOK, body: `{"IceServerList":[]}`},
	})
	t.Setenv("NODE_EXTRA_CA_CERTS", s.caFile)
	t.Setenv("NODE_TLS_REJECT_UNAUTHORIZED", "0")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDPARENT")
	t.Setenv("AWS_ENDPOINT_URL_KINESIS_VIDEO_SIGNALING", "https://127.0.0.1:1")
	t.Setenv("KVSRTC_JS_MAX_ATTEMPTS", "3")

	env := s.env()
	env.CABundle = "" // system roots only: the server's certificate is untrusted
	res, err := Call(callCtx(t), env, Signaling, "GetIceServerConfig", map[string]string{"ChannelARN": testChannelARN})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Code == "" || res.HTTPStatusCode != 0 {
		t.Fatalf("result = %+v, want a TLS verification failure", res)
	}
	t.Logf("untrusted certificate: %s: %s", res.Code, res.Message)
	if n := len(s.requests()); n != 0 {
		t.Errorf("server saw %d requests over an untrusted connection", n)
	}
}

func TestCallCanceled(t *testing.T) {
	requireJS(t)
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	s := newFakeServer(t, map[string]response{
		"/v1/get-ice-server-config": {
			status: http.StatusOK,
			body:   `{"IceServerList":[]}`,
			// Cancel while node waits for the response; then hold the
			// response until node is gone.
			hook: func(r *http.Request) {
				cancel()
				<-r.Context().Done()
			},
		},
	})
	start := time.Now()
	res, err := Call(ctx, s.env(), Signaling, "GetIceServerConfig", map[string]string{"ChannelARN": testChannelARN})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Call = %+v, %v; want context.Canceled", res, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Call returned %v after cancel; want prompt", d)
	}
}

func TestCallHarnessErrors(t *testing.T) {
	requireJS(t)
	s := newFakeServer(t, nil)
	tests := []struct {
		name    string
		env     func(Env) Env
		client  string
		op      string
		input   any
		wantErr string
	}{
		{name: "unknown operation", client: Signaling, op: "NoSuchThing", wantErr: "has no NoSuchThingCommand"},
		{name: "unknown client", client: "s3", op: "ListBuckets", wantErr: `unknown client "s3"`},
		{name: "input not an object", client: Signaling, op: "GetIceServerConfig", input: []int{1}, wantErr: "input must be a JSON object"},
		{name: "unmarshalable input", client: Signaling, op: "GetIceServerConfig", input: make(chan int), wantErr: "marshal input"},
		{name: "no endpoint", client: Signaling, op: "GetIceServerConfig", env: func(e Env) Env { e.Endpoint = ""; return e }, wantErr: "Endpoint is empty"},
		{name: "no region", client: Signaling, op: "GetIceServerConfig", env: func(e Env) Env { e.Region = ""; return e }, wantErr: "Region is empty"},
		{name: "no secret", client: Signaling, op: "GetIceServerConfig", env: func(e Env) Env { e.SecretAccessKey = ""; return e }, wantErr: "SecretAccessKey is empty"},
		{name: "missing CA bundle", client: Signaling, op: "GetIceServerConfig", env: func(e Env) Env { e.CABundle += ".missing"; return e }, wantErr: "CABundle"},
		{name: "bad max attempts", client: Signaling, op: "GetIceServerConfig", env: func(e Env) Env { e.MaxAttempts = -1; return e }, wantErr: "MaxAttempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := s.env()
			if tt.env != nil {
				env = tt.env(env)
			}
			res, err := Call(callCtx(t), env, tt.client, tt.op, tt.input)
			if err == nil {
				t.Fatalf("Call = %+v, want error containing %q", res, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("server saw %d requests", n)
	}
}

// TestCallRedactsStderr makes node print the secrets before call.mjs runs
// and checks that the error carries the output, redacted.
func TestCallRedactsStderr(t *testing.T) {
	requireJS(t)
	s := newFakeServer(t, nil)
	preload := filepath.Join(t.TempDir(), "leak.cjs")
	leak := `process.stderr.write("leak " + process.env.AWS_SECRET_ACCESS_KEY + " " + process.env.AWS_SESSION_TOKEN +
	" https://h/?X-Amz-Signature=0123abcd&x=1\n");
process.exit(3);
`
	if err := os.WriteFile(preload, []byte(leak), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NODE_OPTIONS", `--require "`+preload+`"`)

	_, err := Call(callCtx(t), s.env(), Signaling, "GetIceServerConfig", nil)
	if err == nil {
		t.Fatal("Call succeeded, want exit status 3")
	}
	msg := err.Error()
	assertNoSecrets(t, "error", msg)
	for _, want := range []string{"exited with status 3", "leak [REDACTED] [REDACTED]", "X-Amz-Signature=[REDACTED]&x=1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error = %q, want it to contain %q", msg, want)
		}
	}
}
