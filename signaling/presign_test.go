package signaling

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	andToken = "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE"
	andARN   = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123"
)

// The four vectors of spec §4.2 (JS-SIGN and AND tests), reproduced with
// Presign, which signs through aws-sdk-go-v2's v4.Signer.PresignHTTP.
func TestPresignVectors(t *testing.T) {
	andDate := time.Date(2023, 7, 24, 8, 7, 2, 0, time.UTC)
	tests := []struct {
		name     string
		endpoint string
		creds    aws.Credentials
		date     time.Time
		query    url.Values // nil: X-Amz-ChannelARN (and ClientId) through Presign
		clientID string
		wantSig  string
		wantURL  string // JS only: the URL in SigV4RequestSigner.spec.ts
	}{
		{
			name:     "js with session token",
			endpoint: "wss://kvs.awsamazon.com",
			creds:    aws.Credentials{AccessKeyID: "AKIA4F7WJQR7FMMWMNXI", SecretAccessKey: "FakeSecretKey", SessionToken: "FakeSessionToken"},
			date:     time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC),
			query:    url.Values{"X-Amz-TestParam": {"test-param-value"}},
			wantSig:  "fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92",
			wantURL:  "wss://kvs.awsamazon.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA4F7WJQR7FMMWMNXI%2F20191201%2Fus-west-2%2Fkinesisvideo%2Faws4_request&X-Amz-Date=20191201T000000Z&X-Amz-Expires=299&X-Amz-Security-Token=FakeSessionToken&X-Amz-Signature=fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92&X-Amz-SignedHeaders=host&X-Amz-TestParam=test-param-value",
		},
		{
			name:     "js without session token",
			endpoint: "wss://kvs.awsamazon.com",
			creds:    aws.Credentials{AccessKeyID: "AKIA4F7WJQR7FMMWMNXI", SecretAccessKey: "FakeSecretKey"},
			date:     time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC),
			query:    url.Values{"X-Amz-TestParam": {"test-param-value"}},
			wantSig:  "be1e78950d956a8a9a1997417099ddbd7455619f3d08c4ad20e1e272179ca695",
		},
		{
			name:     "android master",
			endpoint: "wss://m-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com",
			creds:    aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SessionToken: andToken},
			date:     andDate,
			wantSig:  "f8fed632bbe38ac920c7ed2eeaba1a4ba5e2b1bd7aada9f852708112eab76baa",
		},
		{
			name:     "android viewer",
			endpoint: "wss://v-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com",
			creds:    aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SessionToken: andToken},
			date:     andDate,
			clientID: "d7d1c6e2-9cb0-4d61-bea9-ecb3d3816557",
			wantSig:  "77ea5ff8ede2e22aa268a3a068f1ad3a5d92f0fa8a427579f9e6376e97139761",
		},
		{
			name:     "android long-term key",
			endpoint: "wss://m-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com",
			creds:    aws.Credentials{AccessKeyID: "AKIAIOSFODJJ7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxQQiCYEXAMPLEKEY"},
			date:     andDate,
			wantSig:  "0bbef329f0d9d3e68635f7b844ac684c7764a0c228ca013232d935c111b9a370",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var err error
			if tt.query != nil {
				got, err = presign(context.Background(), tt.creds, tt.endpoint, "us-west-2", tt.query, tt.date, 0)
			} else {
				got, err = Presign(context.Background(), tt.creds, PresignInput{
					Endpoint: tt.endpoint, Region: "us-west-2", ChannelARN: andARN, ClientID: tt.clientID, Time: tt.date,
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if s := q.Get("X-Amz-Signature"); s != tt.wantSig {
				t.Errorf("signature %s, want %s\nurl %s", s, tt.wantSig, got)
			}
			if u.Path != "/" {
				t.Errorf("path %q, want /", u.Path)
			}
			// The signature is last, as the C and Android SDKs put it.
			if !strings.HasSuffix(got, "&X-Amz-Signature="+tt.wantSig) {
				t.Errorf("signature not last: %s", got)
			}
			if tt.wantURL != "" {
				// JS sorts the signature in among the others; the parameters
				// and their encoding are otherwise the same.
				if want := sortedQuery(t, tt.wantURL); sortedQuery(t, got) != want {
					t.Errorf("url\n got %s\nwant %s", got, tt.wantURL)
				}
			}
			if tok := tt.creds.SessionToken; tok != "" && q.Get("X-Amz-Security-Token") != tok {
				t.Errorf("X-Amz-Security-Token %q, want the session token", q.Get("X-Amz-Security-Token"))
			}
			if tt.creds.SessionToken == "" && q.Has("X-Amz-Security-Token") {
				t.Error("X-Amz-Security-Token without a session token")
			}
			if q.Get("X-Amz-Expires") != "299" || q.Get("X-Amz-SignedHeaders") != "host" {
				t.Errorf("expires %q, signed headers %q", q.Get("X-Amz-Expires"), q.Get("X-Amz-SignedHeaders"))
			}
		})
	}
}

// sortedQuery returns the URL with its raw query parameters sorted, keeping
// their encoding.
func sortedQuery(t *testing.T, s string) string {
	t.Helper()
	base, raw, _ := strings.Cut(s, "?")
	parts := strings.Split(raw, "&")
	slices.Sort(parts)
	return base + "?" + strings.Join(parts, "&")
}

func TestPresignEndpointShapes(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "s3cret", SessionToken: "tok+en/="}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, endpoint, clientID string
		expires                  time.Duration
		wantPrefix, wantErr      string
	}{
		{name: "emulator path and port", endpoint: "wss://127.0.0.1:8443/v-1a2b3c4d", clientID: "viewer-1", wantPrefix: "wss://127.0.0.1:8443/v-1a2b3c4d?"},
		{name: "host only", endpoint: "wss://m-1a2b3c4d.kinesisvideo.us-west-2.amazonaws.com", wantPrefix: "wss://m-1a2b3c4d.kinesisvideo.us-west-2.amazonaws.com/?"},
		{name: "c sdk expires", endpoint: "wss://h", expires: MaxExpires, wantPrefix: "wss://h/?"},
		{name: "https scheme", endpoint: "https://h", wantErr: "scheme"},
		{name: "query", endpoint: "wss://h/?a=b", wantErr: "without user, query"},
		{name: "empty", endpoint: "", wantErr: "missing endpoint"},
		{name: "expires too long", endpoint: "wss://h", expires: MaxExpires + time.Second, wantErr: "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Presign(context.Background(), creds, PresignInput{
				Endpoint: tt.endpoint, Region: "us-west-2", ChannelARN: andARN, ClientID: tt.clientID, Time: at, Expires: tt.expires,
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Fatalf("url %s, want prefix %s", got, tt.wantPrefix)
			}
			q, _ := url.ParseQuery(got[strings.IndexByte(got, '?')+1:])
			if q.Get("X-Amz-ChannelARN") != andARN || q.Get("X-Amz-ClientId") != tt.clientID ||
				q.Get("X-Amz-Security-Token") != creds.SessionToken || q.Get("X-Amz-Date") != "20261125T120000Z" {
				t.Fatalf("query %v", q)
			}
			if tt.clientID == "" && q.Has("X-Amz-ClientId") {
				t.Fatal("X-Amz-ClientId for the master")
			}
			if tt.expires == MaxExpires && q.Get("X-Amz-Expires") != "604800" {
				t.Fatalf("X-Amz-Expires %s", q.Get("X-Amz-Expires"))
			}
		})
	}
}

// Endpoints come from the service; parsing one must never panic, and what it
// accepts must be a wss/ws URL with a host and a path.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"wss://h", "wss://127.0.0.1:8443/v-1a2b3c4d", "https://h", "wss://u:p@h/?q#f", "", "wss://[::1]:1/x", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseEndpoint(s)
		if err != nil {
			return
		}
		if (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" || u.Path == "" || u.RawQuery != "" {
			t.Fatalf("accepted %q as %#v", s, u)
		}
	})
}
