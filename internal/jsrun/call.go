package jsrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Clients that Call can drive.
const (
	// KinesisVideo is the control plane client, KinesisVideoClient from
	// @aws-sdk/client-kinesis-video.
	KinesisVideo = "kinesisvideo"
	// Signaling is the HTTPS data plane client, KinesisVideoSignalingClient
	// from @aws-sdk/client-kinesis-video-signaling.
	Signaling = "signaling"
	// Storage is the WebRTC ingestion client, KinesisVideoWebRTCStorageClient
	// from @aws-sdk/client-kinesis-video-webrtc-storage, sent to a WEBRTC
	// endpoint.
	Storage = "storage"
)

// Env is everything the JS client learns about its surroundings.
type Env struct {
	// Endpoint is the URL the client sends to, such as https://127.0.0.1:4566.
	// Required: an empty endpoint would send the request to AWS.
	Endpoint string
	// Region is the signing region, such as us-west-2. Required.
	Region string
	// AccessKeyID and SecretAccessKey sign the request. Required.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is sent as X-Amz-Security-Token when set.
	SessionToken string
	// CABundle is a PEM file of extra CAs to trust (NODE_EXTRA_CA_CERTS).
	// Empty means the system roots only.
	CABundle string
	// MaxAttempts is the SDK's maxAttempts; 0 means 1, no retries.
	MaxAttempts int
}

// Result is one call's outcome as the JS SDK reported it.
type Result struct {
	// OK is true when the SDK returned output, false when it threw.
	OK bool `json:"ok"`
	// Output is the command output without $metadata, as JSON (dates as ISO
	// 8601 strings, blobs as base64).
	Output json.RawMessage `json:"output,omitempty"`
	// Name is the thrown error's name: the service error code, such as
	// ResourceNotFoundException, or "Error" for network and TLS failures.
	Name string `json:"name,omitempty"`
	// Message is the thrown error's message.
	Message string `json:"message,omitempty"`
	// HTTPStatusCode is the response status; 0 when there was no response.
	HTTPStatusCode int `json:"httpStatusCode,omitempty"`
	// Fault is "client" or "server" for service errors.
	Fault string `json:"fault,omitempty"`
	// RequestID is the request id the SDK read from the response.
	RequestID string `json:"requestId,omitempty"`
	// Code is the Node error code for network and TLS failures, such as
	// ECONNREFUSED or DEPTH_ZERO_SELF_SIGNED_CERT.
	Code string `json:"code,omitempty"`
	// Stderr is what node wrote to stderr, redacted.
	Stderr string `json:"-"`
}

// Decode unmarshals r.Output into v.
func (r *Result) Decode(v any) error {
	if !r.OK {
		return fmt.Errorf("jsrun: decode output: call failed with %s: %s", r.Name, r.Message)
	}
	return json.Unmarshal(r.Output, v)
}

// waitDelay bounds how long Call waits for node's pipes after killing it.
const waitDelay = 5 * time.Second

// Call sends operation op (such as "GetIceServerConfig") with the JS client
// named by client (KinesisVideo, Signaling or Storage); input is marshalled to JSON and
// nil means {}. A service or network error is reported in the Result; the
// error is for harness failures. Node is killed when ctx ends.
func Call(ctx context.Context, env Env, client, op string, input any) (*Result, error) {
	red := newRedactor(env)
	fail := func(err error) (*Result, error) {
		return nil, fmt.Errorf("jsrun: %s %s: %w", client, op, err)
	}
	if client != KinesisVideo && client != Signaling && client != Storage {
		return fail(fmt.Errorf("unknown client %q (want %q, %q or %q)", client, KinesisVideo, Signaling, Storage))
	}
	if op == "" || strings.ContainsAny(op, " \t\n") {
		return fail(fmt.Errorf("bad operation name %q", op))
	}
	childEnv, err := env.environ()
	if err != nil {
		return fail(err)
	}
	if input == nil {
		input = struct{}{}
	}
	in, err := json.Marshal(input)
	if err != nil {
		return fail(fmt.Errorf("marshal input: %w", err))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fail(fmt.Errorf("node not found on PATH: %s", fixHint))
	}
	dir, err := Dir()
	if err != nil {
		return fail(err)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "call.mjs", client, op, string(in), "--endpoint", env.Endpoint)
	cmd.Dir = dir
	cmd.Env = childEnv
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = waitDelay
	runErr := cmd.Run()
	errText := red.redact(tail(stderr.String(), 4096))

	if ctx.Err() != nil {
		return fail(fmt.Errorf("%w%s", ctx.Err(), stderrSuffix(errText)))
	}
	if runErr != nil {
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			return fail(fmt.Errorf("node call.mjs exited with status %d%s", ee.ExitCode(), stderrSuffix(errText)))
		}
		return fail(fmt.Errorf("run node: %w", runErr))
	}
	line := strings.TrimSpace(stdout.String())
	if line == "" || strings.Contains(line, "\n") {
		return fail(fmt.Errorf("want one JSON line on stdout, got %s%s",
			strconv.Quote(red.redact(tail(line, 4096))), stderrSuffix(errText)))
	}
	res := new(Result)
	if err := json.Unmarshal([]byte(line), res); err != nil {
		return fail(fmt.Errorf("decode call.mjs output: %w%s", err, stderrSuffix(errText)))
	}
	res.Stderr = red.redact(stderr.String())
	return res, nil
}

// environ builds the child's environment: the parent's without anything
// that could change what the JS client does, plus e.
func (e Env) environ() ([]string, error) {
	switch {
	case e.Endpoint == "":
		return nil, errors.New("env: Endpoint is empty")
	case e.Region == "":
		return nil, errors.New("env: Region is empty")
	case e.AccessKeyID == "" || e.SecretAccessKey == "":
		return nil, errors.New("env: AccessKeyID or SecretAccessKey is empty")
	case e.MaxAttempts < 0:
		return nil, fmt.Errorf("env: MaxAttempts is %d", e.MaxAttempts)
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "KVSRTC_JS_") ||
			name == "NODE_EXTRA_CA_CERTS" || name == "NODE_TLS_REJECT_UNAUTHORIZED" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out,
		"AWS_REGION="+e.Region,
		"AWS_ACCESS_KEY_ID="+e.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+e.SecretAccessKey,
		// No ~/.aws files: nothing there may change the request.
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
	)
	if e.SessionToken != "" {
		out = append(out, "AWS_SESSION_TOKEN="+e.SessionToken)
	}
	if e.MaxAttempts > 0 {
		out = append(out, "KVSRTC_JS_MAX_ATTEMPTS="+strconv.Itoa(e.MaxAttempts))
	}
	if e.CABundle != "" {
		// node only warns about an unreadable NODE_EXTRA_CA_CERTS and goes on,
		// and call.mjs runs in jstest/, so check and absolutise it here.
		p, err := filepath.Abs(e.CABundle)
		if err != nil {
			return nil, fmt.Errorf("env: CABundle: %w", err)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("env: CABundle: %w", err)
		}
		out = append(out, "NODE_EXTRA_CA_CERTS="+p)
	}
	return out, nil
}

func stderrSuffix(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "; stderr:\n" + s
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
