// Package jsrun drives unmodified AWS JavaScript clients from Go tests.
//
// The clients live in the npm project jstest/ at the module root
// (@aws-sdk/client-kinesis-video, @aws-sdk/client-kinesis-video-signaling,
// amazon-kinesis-video-streams-webrtc, pinned exactly). Use them to check that
// the emulator speaks the wire protocol the way real AWS clients expect.
//
// Use [Check] first and fail the test when it returns an error: a missing
// Node.js or npm install is a broken test machine, never a reason to skip.
//
//	if err := jsrun.Check(); err != nil {
//		t.Fatal(err)
//	}
//
// Use [Call] to send one operation with a JS client. [Env] says where to send
// it and with which credentials; [Result] is the outcome as the JS SDK saw it:
// either the parsed output or the error's name, message, HTTP status and fault.
// A service error is a Result with OK false, not a Go error; a Go error means
// the harness could not run (no node, bad input, canceled context).
//
// # Isolation
//
// The child process never inherits AWS_* variables, NODE_EXTRA_CA_CERTS or
// NODE_TLS_REJECT_UNAUTHORIZED from the test process, and it reads no shared
// AWS config files: everything comes from [Env]. TLS is always verified; trust
// a test server by writing its certificate to a PEM file and setting
// [Env.CABundle].
//
// # Secrets
//
// Errors carry node's stderr for diagnosis, with the secret access key, the
// session token and anything that looks like a signature or a credential
// field replaced by "[REDACTED]".
package jsrun
