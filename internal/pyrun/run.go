package pyrun

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed prelude.py
var prelude string

// boot runs the prelude, then the script, each under its own file name so a
// traceback's line numbers are the script's; exit status 3 means the script
// never called emit.
const boot = `import sys
g = {"__name__": "__main__"}
exec(compile(sys.argv[1], "<pyrun prelude>", "exec"), g)
exec(compile(sys.argv[2], "<script>", "exec"), g)
if not g["_emitted"]:
    sys.stderr.write("pyrun: the script did not call emit\n")
    sys.exit(3)
`

// fixHint says how to repair a machine on which Check fails.
const fixHint = "python3 with boto3 and botocore is part of the machine image (pyenv 3.11); PyPI is not reachable here"

// services are the botocore models the emulator's tests use.
var services = []string{"kinesisvideo", "kinesis-video-signaling", "kinesis-video-webrtc-storage", "kinesis-video-media", "kinesis-video-archived-media"}

// maxScript bounds a script's size; pass data through input instead.
const maxScript = 100 << 10

// waitDelay bounds how long a run waits for the child's pipes after killing it.
const waitDelay = 5 * time.Second

// check is Check uncached.
func check() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	py, err := python()
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, "-c", `import json, boto3, botocore
print(json.dumps(boto3.session.Session().get_available_services()))`)
	cmd.Stdout, cmd.Stderr, cmd.WaitDelay = &stdout, &stderr, waitDelay
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pyrun: %s cannot import boto3 and botocore: %w%s (%s)", py, err, stderrSuffix(redactAll(tail(stderr.String(), 2048))), fixHint)
	}
	var have []string
	if err := json.Unmarshal(stdout.Bytes(), &have); err != nil {
		return fmt.Errorf("pyrun: list botocore services: %w", err)
	}
	for _, s := range services {
		if !slices.Contains(have, s) {
			return fmt.Errorf("pyrun: botocore of %s has no %s model: upgrade botocore (%s)", py, s, fixHint)
		}
	}
	return nil
}

var checkOnce = sync.OnceValue(check)

// Check reports whether Run and Call can work: python3 is on PATH, imports
// boto3 and botocore, and botocore has the Kinesis Video models. Its error
// says what is missing; tests should fail with it, not skip. The answer is
// computed once per process.
func Check() error { return checkOnce() }

func python() (string, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("pyrun: python3 not found on PATH (%s)", fixHint)
	}
	return unshim(py, "python3"), nil
}

// Result is one call's outcome as botocore reported it.
type Result struct {
	// OK is true when the client returned output, false when it raised.
	OK bool `json:"ok"`
	// Output is the parsed response without ResponseMetadata, as JSON
	// (datetimes as ISO 8601 strings, blobs and streams as base64).
	Output json.RawMessage `json:"output,omitempty"`
	// Code is the service error code botocore parsed, e.Response["Error"]
	// ["Code"], such as ResourceNotFoundException; empty when no response
	// was parsed.
	Code string `json:"code,omitempty"`
	// Message is the error message.
	Message string `json:"message,omitempty"`
	// Class is the raised exception's class: the modeled error (such as
	// ResourceNotFoundException, from client.exceptions), ClientError for an
	// unmodeled code, or a BotoCoreError such as SSLError or
	// EndpointConnectionError when there was no service response.
	Class string `json:"class,omitempty"`
	// HTTPStatusCode is the response status; 0 when there was no response.
	HTTPStatusCode int `json:"httpStatusCode,omitempty"`
	// RequestID is the request id botocore read from the response.
	RequestID string `json:"requestId,omitempty"`
	// Headers are the response headers, names lowercased by botocore.
	Headers map[string]string `json:"headers,omitempty"`
}

// Decode unmarshals r.Output into v.
func (r *Result) Decode(v any) error {
	if !r.OK {
		return fmt.Errorf("pyrun: decode output: call failed with %s (%s): %s", r.Code, r.Class, redactAll(r.Message))
	}
	return json.Unmarshal(r.Output, v)
}

// String describes r with anything that looks like a credential (a TURN
// password in GetIceServerConfig output) redacted, so a test may print it.
func (r *Result) String() string {
	if r == nil {
		return "<nil>"
	}
	if r.OK {
		return fmt.Sprintf("ok status=%d output=%s", r.HTTPStatusCode, redactAll(string(r.Output)))
	}
	return fmt.Sprintf("error class=%s code=%s status=%d message=%q", r.Class, r.Code, r.HTTPStatusCode, redactAll(r.Message))
}

// Run runs script with python3 after the prelude (see the package doc),
// with input as INPUT (JSON; nil is None), and unmarshals the value the
// script passes to emit into out (nil discards it). Python is killed when
// ctx ends. The error carries python's stderr, redacted.
func Run(ctx context.Context, env Env, script string, input, out any) error {
	red := newRedactor(env)
	fail := func(err error) error { return fmt.Errorf("pyrun: run script: %w", err) }
	childEnv, err := env.environ()
	if err != nil {
		return fail(err)
	}
	if len(script) > maxScript {
		// It goes to python as one argument (Linux MAX_ARG_STRLEN is 128 KiB).
		return fail(fmt.Errorf("script is %d bytes, more than %d", len(script), maxScript))
	}
	in, err := json.Marshal(input)
	if err != nil {
		return fail(fmt.Errorf("marshal input: %w", err))
	}
	py, err := python()
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, "-c", boot, prelude, script)
	cmd.Env = childEnv
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout, cmd.Stderr, cmd.WaitDelay = &stdout, &stderr, waitDelay
	runErr := cmd.Run()
	errText := red.redact(tail(stderr.String(), 4096))
	if ctx.Err() != nil {
		return fail(fmt.Errorf("%w%s", ctx.Err(), stderrSuffix(errText)))
	}
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return fail(fmt.Errorf("run %s: %w", py, runErr))
		}
		if strings.Contains(stderr.String(), "No module named 'boto3'") || strings.Contains(stderr.String(), "No module named 'botocore'") {
			return fail(fmt.Errorf("%s cannot import boto3 (%s)%s", py, fixHint, stderrSuffix(errText)))
		}
		return fail(fmt.Errorf("python3 exited with status %d%s", ee.ExitCode(), stderrSuffix(errText)))
	}
	line := strings.TrimSpace(stdout.String())
	if line == "" || strings.Contains(line, "\n") {
		return fail(fmt.Errorf("want one JSON line on stdout, got %s%s",
			strconv.Quote(red.redact(tail(line, 4096))), stderrSuffix(errText)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal([]byte(line), out); err != nil {
		return fail(fmt.Errorf("decode emitted value: %w", err))
	}
	return nil
}

// callScript sends one operation: INPUT is {service, op, params}.
const callScript = `emit(call(client(INPUT["service"]), INPUT["op"], **INPUT["params"]))`

// Call sends operation op (such as "GetIceServerConfig", or the boto3
// method name get_ice_server_config) with a boto3 client for service (a
// botocore service name such as "kinesisvideo" or "kinesis-video-signaling");
// input is the operation's parameters (marshalled to JSON; nil means none).
// A service or network error is reported in the Result; the error is for
// harness failures. Each Call starts python (about 0.3 s): batch calls in one
// Run script where a test makes many.
func Call(ctx context.Context, env Env, service, op string, input any) (*Result, error) {
	if service == "" || op == "" || strings.ContainsAny(service+op, " \t\n") {
		return nil, fmt.Errorf("pyrun: call: bad service %q or operation %q", service, op)
	}
	if input == nil {
		input = struct{}{}
	}
	res := new(Result)
	err := Run(ctx, env, callScript, map[string]any{"service": service, "op": op, "params": input}, res)
	if err != nil {
		return nil, fmt.Errorf("pyrun: %s %s: %w", service, op, err)
	}
	return res, nil
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
