package creds

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseResponse checks that ParseResponse never panics, that what it
// accepts has both keys, and that an error never repeats a secret key or token
// of six bytes or more from the body.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"ak":"a","sk":"secret-1","token":"token-1","region":"us-west-2","arn":"arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700506395046","expiration":"2099-01-01T00:00:00Z"}`,
		`{"AccessKeyId":"a","SecretAccessKey":"secret-1","Token":"token-1","Expiration":"2099-01-01T00:00:00Z"}`,
		`{"ak":"a","sk":"secret-1","expiration":4102444800000}`,
		`{"ak":"a","sk":"secret-1","region":"secret-1"}`,
		`{"ak":"a","sk":"secret-1","arn":"arn:aws:kinesisvideo:cn-north-1:123456789012:channel/secret-1/1700506395046"}`,
		`<html>`, ``, `[]`, `{"sk":5}`, `{"ak":"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body, testNow)
		if err == nil {
			if r.AccessKeyID == "" || r.SecretAccessKey == "" {
				t.Fatalf("accepted %q without both keys", body)
			}
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok || len(s) < 6 {
				continue
			}
			switch strings.ToLower(k) {
			case "sk", "secretaccesskey", "token":
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q repeats %s %q", err, k, s)
				}
			}
		}
	})
}
