package wire_test

import (
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

func TestRedactURL(t *testing.T) {
	const (
		cred  = "X-Amz-Credential=AKIA4F7WJQR7FMMWMNXI%2F20191201%2Fus-west-2%2Fkinesisvideo%2Faws4_request"
		sig   = "fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92"
		token = "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT%2BFvwqnKwRcOIfrRh3c%2FLTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE%2FIvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb%2FAXlzBBko7b15fjrBs2%2BcTQtpZ3CYWFXG8C5zqx37wnOE49mRl%2F%2BOtkIKGO7fAE"
	)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "js presign, signature sorted in the middle",
			in:   "wss://kvs.awsamazon.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&" + cred + "&X-Amz-Date=20191201T000000Z&X-Amz-Expires=299&X-Amz-Security-Token=FakeSessionToken&X-Amz-Signature=" + sig + "&X-Amz-SignedHeaders=host&X-Amz-TestParam=test-param-value",
			want: "wss://kvs.awsamazon.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&" + cred + "&X-Amz-Date=20191201T000000Z&X-Amz-Expires=299&X-Amz-Security-Token=****&X-Amz-Signature=****&X-Amz-SignedHeaders=host&X-Amz-TestParam=test-param-value",
		},
		{
			name: "c sdk presign, no slash, signature last, real token",
			in:   "wss://m-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com?X-Amz-ChannelARN=arn%3Aaws%3Akinesisvideo%3Aus-west-2%3A123456789012%3Achannel%2Fdemo%2F1234567890123&X-Amz-Security-Token=" + token + "&X-Amz-Signature=" + sig,
			want: "wss://m-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com?X-Amz-ChannelARN=arn%3Aaws%3Akinesisvideo%3Aus-west-2%3A123456789012%3Achannel%2Fdemo%2F1234567890123&X-Amz-Security-Token=****&X-Amz-Signature=****",
		},
		{
			name: "lowercase keys and a fragment",
			in:   "https://h/p?x-amz-signature=abc#frag",
			want: "https://h/p?x-amz-signature=****#frag",
		},
		{
			name: "percent-encoded key",
			in:   "https://h/?X-Amz-Security%2DToken=abc&a=b",
			want: "https://h/?X-Amz-Security%2DToken=****&a=b",
		},
		{
			name: "turn credential and passwords",
			in:   "turn:host:443?transport=udp&username=1700000000:dXNlcg==&credential=c2VjcmV0&password=p&pwd=q&api_token=t&client_secret=s",
			want: "turn:host:443?transport=udp&username=1700000000:dXNlcg==&credential=****&password=****&pwd=****&api_token=****&client_secret=****",
		},
		{
			name: "user info password",
			in:   "http://user:hunter2@proxy.example:8080/path?q=1",
			want: "http://user:****@proxy.example:8080/path?q=1",
		},
		{
			name: "unparsable url",
			in:   "wss://bad host%zz/?X-Amz-Signature=abc&X-Amz-Security-Token=tok%",
			want: "wss://bad host%zz/?X-Amz-Signature=****&X-Amz-Security-Token=****",
		},
		{
			name: "url inside a log line",
			in:   `dial "wss://h/?X-Amz-Signature=abc&X-Amz-Date=1": 403`,
			want: `dial "wss://h/?X-Amz-Signature=****&X-Amz-Date=1": 403`,
		},
		{
			name: "empty values and nothing secret stay",
			in:   "https://h/?X-Amz-Signature=&X-Amz-ClientId=viewer&" + cred,
			want: "https://h/?X-Amz-Signature=&X-Amz-ClientId=viewer&" + cred,
		},
		{
			name: "already redacted",
			in:   "https://h/?X-Amz-Signature=****",
			want: "https://h/?X-Amz-Signature=****",
		},
		{name: "empty", in: "", want: ""},
		{name: "not a url", in: "hello world", want: "hello world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.RedactURL(tt.in)
			if got != tt.want {
				t.Errorf("RedactURL\n got  %s\n want %s", got, tt.want)
			}
			if again := wire.RedactURL(got); again != got {
				t.Errorf("not idempotent: %s", again)
			}
			for _, s := range []string{sig, token, "FakeSessionToken", "hunter2", "c2VjcmV0"} {
				if strings.Contains(got, s) {
					t.Errorf("output still holds %q", s)
				}
			}
		})
	}
}

func TestRedactSecret(t *testing.T) {
	if got := wire.RedactSecret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"); got != "****" {
		t.Errorf("RedactSecret = %q", got)
	}
	if got := wire.RedactSecret(""); got != "" {
		t.Errorf(`RedactSecret("") = %q`, got)
	}
}
