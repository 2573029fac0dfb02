package jsrun

import "testing"

func TestRedact(t *testing.T) {
	r := newRedactor(Env{SecretAccessKey: "SECRETKEY", SessionToken: "TOKENwithSECRETKEYinside"})
	tests := []struct {
		name, in, want string
	}{
		{"secret key", "key is SECRETKEY.", "key is [REDACTED]."},
		{"token containing the key", "t=TOKENwithSECRETKEYinside", "t=[REDACTED]"},
		{"presigned signature", "wss://h/?X-Amz-Signature=abc123&X-Amz-Date=1", "wss://h/?X-Amz-Signature=[REDACTED]&X-Amz-Date=1"},
		{"presigned token", "?X-Amz-Security-Token=Fwo%2Fxyz&a=b", "?X-Amz-Security-Token=[REDACTED]&a=b"},
		{"authorization signature", "SignedHeaders=host, Signature=0123abcdef", "SignedHeaders=host, Signature=[REDACTED]"},
		{"printed object", "{ secretAccessKey: 'other', sessionToken: 'x' }", "{ secretAccessKey: [REDACTED], sessionToken: [REDACTED] }"},
		{"json password", `{"Password":"turnpass","Ttl":300}`, `{"Password":[REDACTED],"Ttl":300}`},
		{"ice credential", `credential: "turnpass"`, `credential: [REDACTED]`},
		{"nothing secret", "connect ECONNREFUSED 127.0.0.1:1", "connect ECONNREFUSED 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.redact(tt.in); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
