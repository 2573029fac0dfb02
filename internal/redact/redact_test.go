package redact

import "testing"

func TestRedactor(t *testing.T) {
	r := New("SECRETKEY", "", "TOKENwithSECRETKEYinside")
	for in, want := range map[string]string{
		"key is SECRETKEY.":                               "key is [REDACTED].",
		"t=TOKENwithSECRETKEYinside":                      "t=[REDACTED]",
		"wss://h/?X-Amz-Signature=abc123&X-Amz-Date=1":    "wss://h/?X-Amz-Signature=[REDACTED]&X-Amz-Date=1",
		"Credential=AKID/x, Signature=0123456789abcdef":   "Credential=[REDACTED], Signature=[REDACTED]",
		"aws_secret_access_key = wJalr":                   "aws_secret_access_key = [REDACTED]",
		"'x-amz-security-token': 'IQoJb3JpZ2luX2VjEJr//'": "'x-amz-security-token': [REDACTED]",
		`{"Password":"turnpass","Ttl":300}`:               `{"Password":[REDACTED],"Ttl":300}`,
		"connect ECONNREFUSED 127.0.0.1:1":                "connect ECONNREFUSED 127.0.0.1:1",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (Redactor{}).String("password=x"); got != "password=[REDACTED]" {
		t.Errorf("zero Redactor: %q", got)
	}
}
