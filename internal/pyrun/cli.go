package pyrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// CLIResult is what one `aws` command did.
type CLIResult struct {
	// ExitCode is the CLI's exit status: 0 ok; the AWS CLI v1 exits 255 on
	// a service error (v2: 254), 2 on a missing argument and 255 on an
	// unknown option.
	ExitCode int
	// Stdout is the command's output (--output json). It may hold secrets
	// (a TURN password): decode it, do not print it; String redacts.
	Stdout []byte
	// Stderr is what the CLI wrote to stderr, redacted.
	Stderr string
}

// Decode unmarshals the command's JSON output into v.
func (r *CLIResult) Decode(v any) error {
	if r.ExitCode != 0 {
		return fmt.Errorf("pyrun: decode aws output: exit status %d: %s", r.ExitCode, strings.TrimSpace(r.Stderr))
	}
	return json.Unmarshal(r.Stdout, v)
}

// String describes r with anything that looks like a credential redacted.
func (r *CLIResult) String() string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("exit=%d stdout=%s stderr=%q", r.ExitCode, redactAll(strings.TrimSpace(string(r.Stdout))), strings.TrimSpace(r.Stderr))
}

// checkCLI is CheckCLI uncached.
func checkCLI() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	aws, err := awsPath()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, aws, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pyrun: %s --version: %w%s", aws, err, stderrSuffix(redactAll(tail(string(out), 2048))))
	}
	if !strings.HasPrefix(string(out), "aws-cli/") {
		return fmt.Errorf("pyrun: %s --version printed %q, want aws-cli/…", aws, tail(string(out), 200))
	}
	return nil
}

var cliOnce = sync.OnceValue(checkCLI)

// CheckCLI reports whether CLI can work: the AWS CLI is on PATH and runs.
// Tests should fail with its error, not skip. The answer is computed once
// per process.
func CheckCLI() error { return cliOnce() }

func awsPath() (string, error) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		return "", fmt.Errorf("pyrun: aws (the AWS CLI) not found on PATH (%s)", fixHint)
	}
	return unshim(aws, "aws"), nil
}

// CLI runs `aws --output json [--endpoint-url env.Endpoint] args...` in env
// (region, credentials and AWS_CA_BUNDLE as environment variables, no config
// files). A non-zero exit is reported in the CLIResult; the error is for
// harness failures (no aws, bad Env, a canceled context). The CLI is killed
// when ctx ends.
func CLI(ctx context.Context, env Env, args ...string) (*CLIResult, error) {
	red := newRedactor(env)
	fail := func(err error) (*CLIResult, error) {
		return nil, fmt.Errorf("pyrun: aws %s: %w", strings.Join(firstWords(args, 2), " "), err)
	}
	childEnv, err := env.environ()
	if err != nil {
		return fail(err)
	}
	aws, err := awsPath()
	if err != nil {
		return nil, err
	}
	argv := []string{"--output", "json"}
	if env.Endpoint != "" {
		argv = append(argv, "--endpoint-url", env.Endpoint)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, aws, append(argv, args...)...)
	cmd.Env = childEnv
	cmd.Stdout, cmd.Stderr, cmd.WaitDelay = &stdout, &stderr, waitDelay
	runErr := cmd.Run()
	res := &CLIResult{Stdout: stdout.Bytes(), Stderr: red.redact(stderr.String())}
	if ctx.Err() != nil {
		return fail(fmt.Errorf("%w%s", ctx.Err(), stderrSuffix(tail(res.Stderr, 4096))))
	}
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) || ee.ExitCode() < 0 {
			return fail(fmt.Errorf("run %s: %w%s", aws, runErr, stderrSuffix(tail(res.Stderr, 4096))))
		}
		res.ExitCode = ee.ExitCode()
	}
	return res, nil
}

// firstWords returns up to n leading arguments that are not flags, for
// naming a command in an error.
func firstWords(args []string, n int) []string {
	var out []string
	for _, a := range args {
		if len(out) == n || strings.HasPrefix(a, "-") {
			break
		}
		out = append(out, a)
	}
	return out
}
