package pyrun

import "testing"

func TestRedact(t *testing.T) {
	r := newRedactor(Env{SecretAccessKey: "s3cr3t", SessionToken: "tok-s3cr3t-en"})
	tests := map[string]string{
		"key s3cr3t and tok-s3cr3t-en":                    "key [REDACTED] and [REDACTED]",
		`{"Password": "hunter2", "Ttl": 300}`:             `{"Password": [REDACTED], "Ttl": 300}`,
		"wss://h/?X-Amz-Signature=abcd&X-Amz-Date=1":      "wss://h/?X-Amz-Signature=[REDACTED]&X-Amz-Date=1",
		"Credential=AKID/x, Signature=0123456789abcdef":   "Credential=[REDACTED], Signature=[REDACTED]",
		"aws_secret_access_key = wJalr":                   "aws_secret_access_key = [REDACTED]",
		"'x-amz-security-token': 'IQoJb3JpZ2luX2VjEJr//'": "'x-amz-security-token': [REDACTED]",
	}
	for in, want := range tests {
		if got := r.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
