package pyrun

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testChannelARN = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000"

// runTimeout bounds one python run; starting python and importing boto3
// takes well under a second.
const runTimeout = 30 * time.Second

func requirePython(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	t.Cleanup(cancel)
	return ctx
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=` + testAKID +
	`/\d{8}/` + testRegion + `/kinesisvideo/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`)

// One script, three calls: output, a modeled error and an unmodeled one, as
// botocore parsed them, and what it sent.
func TestRun(t *testing.T) {
	requirePython(t)
	const turnPassword = "turn-password-must-not-print"
	srv := newFakeServer(t, map[string]response{
		"/v1/get-ice-server-config": {status: http.StatusOK, header: map[string]string{"X-Amzn-RequestId": "req-ice-1"},
			body: `{"IceServerList":[{"Password":"` + turnPassword + `","Ttl":300,"Uris":["turn:127.0.0.1:3478?transport=udp"],"Username":"1:dg=="}]}`},
		"/describeSignalingChannel": {status: http.StatusNotFound, header: map[string]string{
			"X-Amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.kinesisvideo.v20170930/",
			"X-Amzn-RequestId": "req-nf-1"}, body: `{"Message":"The requested channel is not found or not active."}`},
		"/createSignalingChannel": {status: http.StatusBadRequest, header: map[string]string{"X-Amzn-ErrorType": "WeirdException"},
			body: `{"message":"weird"}`},
	})
	var got []Result
	err := Run(runCtx(t), srv.env(), `
sig = client("kinesis-video-signaling")
kv = client("kinesisvideo")
print("stray output goes to stderr")
emit([
    call(sig, "GetIceServerConfig", ChannelARN=INPUT["arn"], ClientId="viewer-1"),
    call(kv, "DescribeSignalingChannel", ChannelName="missing"),
    call(kv, "create_signaling_channel", ChannelName="weird"),
])
`, map[string]string{"arn": testChannelARN}, &got)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d results, want 3", len(got))
	}

	ice := got[0]
	var out struct {
		IceServerList []struct {
			Password, Username string
			Ttl                int
			Uris               []string
		}
	}
	if err := ice.Decode(&out); err != nil || len(out.IceServerList) != 1 || out.IceServerList[0].Password != turnPassword ||
		out.IceServerList[0].Ttl != 300 || ice.HTTPStatusCode != 200 || ice.RequestID != "req-ice-1" {
		t.Fatalf("ice: %v, %v", &ice, err)
	}
	if s := ice.String(); strings.Contains(s, turnPassword) || !strings.Contains(s, "Ttl") {
		t.Errorf("Result.String does not redact the TURN password or lost the output: %s", s)
	}

	nf := got[1]
	if nf.OK || nf.Code != "ResourceNotFoundException" || nf.Class != "ResourceNotFoundException" || nf.HTTPStatusCode != 404 ||
		nf.RequestID != "req-nf-1" || !strings.Contains(nf.Message, "not found") || !strings.HasPrefix(nf.Headers["x-amzn-errortype"], "ResourceNotFoundException:") {
		t.Errorf("not found: %v %v", &nf, nf.Headers)
	}
	if err := nf.Decode(&out); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("Decode of an error result: %v", err)
	}
	if w := got[2]; w.OK || w.Code != "WeirdException" || w.Class != "ClientError" || w.HTTPStatusCode != 400 {
		t.Errorf("unmodeled error: %v", &w)
	}

	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if a := r.header.Get("Authorization"); !authRE.MatchString(a) {
			t.Errorf("%s: Authorization %q does not match %s", r.path, a, authRE)
		}
		if r.header.Get("X-Amz-Security-Token") != testToken {
			t.Errorf("%s: no session token sent", r.path)
		}
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(reqs[0].body), &body); err != nil || body["ChannelARN"] != testChannelARN || body["ClientId"] != "viewer-1" {
		t.Errorf("ice request body %q: %v", reqs[0].body, err)
	}
}

// Nothing in the test's environment reaches botocore; Env.Environ does.
func TestCallIsolatedFromParentEnv(t *testing.T) {
	requirePython(t)
	srv := newFakeServer(t, map[string]response{"/listSignalingChannels": {status: 200, body: `{"ChannelInfoList":[]}`}})
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMPARENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "parent-secret")
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_ENDPOINT_URL", "https://127.0.0.1:1")
	t.Setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem")
	ctx := runCtx(t)

	r, err := Call(ctx, srv.env(), "kinesisvideo", "ListSignalingChannels", nil)
	if err != nil || !r.OK {
		t.Fatalf("call: %v %v", r, err)
	}
	// botocore's own endpoint variable, set through Environ.
	env := srv.env()
	env.Endpoint = ""
	env.Environ = []string{"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + srv.srv.URL}
	if r, err := Call(ctx, env, "kinesisvideo", "ListSignalingChannels", nil); err != nil || !r.OK {
		t.Fatalf("call with AWS_ENDPOINT_URL_KINESIS_VIDEO: %v %v", r, err)
	}
	for _, req := range srv.requests() {
		if a := req.header.Get("Authorization"); !authRE.MatchString(a) {
			t.Errorf("Authorization %q: the parent's credentials leaked in", a)
		}
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}

	// No CA bundle: the test server is not trusted.
	env = srv.env()
	env.CABundle = ""
	r, err = Call(ctx, env, "kinesisvideo", "ListSignalingChannels", nil)
	if err != nil || r.OK || r.Class != "SSLError" {
		t.Errorf("untrusted server: %v %v", r, err)
	}
}

func TestRunCanceled(t *testing.T) {
	requirePython(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := Run(ctx, Env{Endpoint: "https://127.0.0.1:1", Region: testRegion, AccessKeyID: testAKID, SecretAccessKey: testSecret},
		"import time\ntime.sleep(120)\nemit(1)", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestRunHarnessErrors(t *testing.T) {
	requirePython(t)
	good := Env{Endpoint: "https://127.0.0.1:1", Region: testRegion, AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}
	tests := []struct {
		name   string
		env    func(e *Env)
		script string
		input  any
		want   string
	}{
		{name: "no endpoint", env: func(e *Env) { e.Endpoint = "" }, want: "Endpoint is empty"},
		{name: "no region", env: func(e *Env) { e.Region = "" }, want: "Region is empty"},
		{name: "no secret", env: func(e *Env) { e.SecretAccessKey = "" }, want: "AccessKeyID or SecretAccessKey is empty"},
		{name: "negative attempts", env: func(e *Env) { e.MaxAttempts = -1 }, want: "MaxAttempts is -1"},
		{name: "bad Environ", env: func(e *Env) { e.Environ = []string{"AWS_REGION=x", testSecret} }, want: "is not KEY=value"},
		{name: "missing CA bundle", env: func(e *Env) { e.CABundle = "/nonexistent/ca.pem" }, want: "CABundle"},
		{name: "bad input", input: func() {}, want: "marshal input"},
		{name: "no emit", script: "x = 1", want: "did not call emit"},
		{name: "script too long", script: strings.Repeat("#", maxScript+1), want: "more than 102400"},
		{name: "emit twice", script: "emit(1)\nemit(2)", want: "emit called twice"},
		{name: "syntax error", script: "x = 1\nthis is not python", want: `File "<script>", line 2`},
		{name: "secret in traceback", script: "raise RuntimeError(INPUT)", input: "key " + testSecret + " token " + testToken, want: "RuntimeError: key [REDACTED] token [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := good
			if tt.env != nil {
				tt.env(&env)
			}
			script := tt.script
			if script == "" {
				script = "emit(None)"
			}
			err := Run(runCtx(t), env, script, tt.input, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func TestCheck(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

// A machine without python3 or without boto3 fails with a message naming
// what is missing.
func TestCheckMissing(t *testing.T) {
	requirePython(t)
	env := Env{Endpoint: "https://127.0.0.1:1", Region: testRegion, AccessKeyID: testAKID, SecretAccessKey: testSecret}
	real, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no python3", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		if err := check(); err == nil || !strings.Contains(err.Error(), "python3 not found on PATH") {
			t.Errorf("check: %v", err)
		}
		if _, err := Call(runCtx(t), env, "kinesisvideo", "ListSignalingChannels", nil); err == nil || !strings.Contains(err.Error(), "python3 not found on PATH") {
			t.Errorf("call: %v", err)
		}
	})
	t.Run("no boto3", func(t *testing.T) {
		// A python3 without site-packages (-S) cannot import boto3.
		dir := t.TempDir()
		wrapper := "#!/bin/sh\nexec " + strings.TrimSpace(string(real)) + " -S \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, "python3"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", dir)
		if err := check(); err == nil || !strings.Contains(err.Error(), "cannot import boto3") {
			t.Errorf("check: %v", err)
		}
		if err := Run(runCtx(t), env, "emit(1)", nil, nil); err == nil || !strings.Contains(err.Error(), "cannot import boto3") {
			t.Errorf("run: %v", err)
		}
	})
}
