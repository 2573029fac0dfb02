// Package pyrun drives the unmodified Python AWS clients, boto3 and the AWS
// CLI v1 (both on botocore), from Go tests.
//
// They are part of the machine image (pyenv's python3 with boto3 and
// botocore, and `aws`), not installed by the tests. Use [Check] (boto3) or
// [CheckCLI] (the AWS CLI) first and fail the test when it returns an error:
// a missing python3, boto3 or aws is a broken test machine, never a reason to
// skip.
//
//	if err := pyrun.Check(); err != nil {
//		t.Fatal(err)
//	}
//
// Use [Call] to send one operation with a boto3 client; [Env] says where to
// send it and with which credentials, and [Result] is the outcome as botocore
// saw it: the parsed output, or the error code, message, exception class,
// HTTP status and headers. A service error is a Result with OK false, not a
// Go error; a Go error means the harness could not run (no python3, bad
// input, a canceled context).
//
// Each python start costs about 0.3 s, so a test that makes many calls runs
// one script with [Run]. The script runs after a prelude that gives it:
//
//	INPUT                      the input given to Run, decoded from JSON
//	client(service, endpoint=None)
//	                           a boto3 client; endpoint_url is endpoint, else
//	                           Env.Endpoint, else botocore's own lookup
//	call(c, op, **params)      send op (PascalCase or snake_case), return the
//	                           Result shape (a dict); never raises for a
//	                           service or connection error
//	emit(v)                    hand v back to Go (exactly once)
//
// A script is at most 100 KiB (it is one python argument); pass data in
// through the input, which goes to python's stdin.
//
// for example
//
//	var got []pyrun.Result
//	err := pyrun.Run(ctx, env, `
//	kv = client("kinesisvideo")
//	emit([call(kv, "CreateSignalingChannel", ChannelName=n) for n in INPUT])
//	`, []string{"a", "b"}, &got)
//
// Use [CLI] to run one `aws` command (--output json, --endpoint-url from
// [Env.Endpoint]); [CLIResult] holds its exit code, stdout and stderr.
//
// # Isolation
//
// The child process never inherits AWS_*, BOTO_*, REQUESTS_CA_BUNDLE,
// proxy or PYTHONPATH variables from the test process and reads no shared
// AWS config or credentials file: everything comes from [Env]. TLS is always
// verified; trust a test server with [Env.CABundle] (AWS_CA_BUNDLE). Retries
// are off unless [Env.MaxAttempts] says otherwise.
//
// # Secrets
//
// Errors carry python's or the CLI's stderr for diagnosis with the secret
// access key, the session token and anything that looks like a signature or
// a credential field replaced by "[REDACTED]". Result.String and
// CLIResult.String redact the same way, so a test may print a Result that
// holds a TURN password.
package pyrun
