package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func presignedRequest(t *testing.T, host, rawQuery string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/?"+rawQuery, nil)
	r.Host = host
	return r
}

func buildQuery(params [][2]string) string {
	var parts []string
	for _, p := range params {
		parts = append(parts, escape(p[0], true)+"="+escape(p[1], true))
	}
	return strings.Join(parts, "&")
}

// The four vectors of spec §4.2, from the JS and Android SDKs' own tests.
func TestPresignVectors(t *testing.T) {
	const andToken = "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE"
	const arn = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123"
	tests := []struct {
		name, host, akid, secret, token, date, sig string
		extra                                      [][2]string
	}{
		{"js with token", "kvs.awsamazon.com", "AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", "FakeSessionToken", "20191201T000000Z",
			"fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92", [][2]string{{"X-Amz-TestParam", "test-param-value"}}},
		{"js without token", "kvs.awsamazon.com", "AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", "", "20191201T000000Z",
			"be1e78950d956a8a9a1997417099ddbd7455619f3d08c4ad20e1e272179ca695", [][2]string{{"X-Amz-TestParam", "test-param-value"}}},
		{"android master", "m-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", andToken, "20230724T080702Z",
			"f8fed632bbe38ac920c7ed2eeaba1a4ba5e2b1bd7aada9f852708112eab76baa", [][2]string{{"X-Amz-ChannelARN", arn}}},
		{"android viewer", "v-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", andToken, "20230724T080702Z",
			"77ea5ff8ede2e22aa268a3a068f1ad3a5d92f0fa8a427579f9e6376e97139761", [][2]string{{"X-Amz-ChannelARN", arn}, {"X-Amz-ClientId", "d7d1c6e2-9cb0-4d61-bea9-ecb3d3816557"}}},
		{"android long-term key", "m-a1b2c3d4.kinesisvideo.us-west-2.amazonaws.com", "AKIAIOSFODJJ7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxQQiCYEXAMPLEKEY", "", "20230724T080702Z",
			"0bbef329f0d9d3e68635f7b844ac684c7764a0c228ca013232d935c111b9a370", [][2]string{{"X-Amz-ChannelARN", arn}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			date, _ := time.Parse(timeFormat, tt.date)
			params := append([][2]string{
				{"X-Amz-Algorithm", Algorithm},
				{"X-Amz-Credential", tt.akid + "/" + tt.date[:8] + "/us-west-2/kinesisvideo/aws4_request"},
				{"X-Amz-Date", tt.date},
				{"X-Amz-Expires", "299"},
				{"X-Amz-SignedHeaders", "host"},
			}, tt.extra...)
			if tt.token != "" {
				params = append(params, [2]string{"X-Amz-Security-Token", tt.token})
			}
			// The signature at the end (C, Android) and in the middle (JS).
			for _, pos := range []int{len(params), 2} {
				p := append(append(append([][2]string{}, params[:pos]...), [2]string{"X-Amz-Signature", tt.sig}), params[pos:]...)
				v := &Verifier{Service: "kinesisvideo", Region: "us-west-2", Now: func() time.Time { return date.Add(time.Minute) },
					Lookup: func(id string) (Secret, bool) {
						return Secret{SecretAccessKey: tt.secret, SessionToken: tt.token}, id == tt.akid
					}}
				if _, err := v.VerifyQuery(presignedRequest(t, tt.host, buildQuery(p))); err != nil {
					t.Fatalf("signature at %d: %v", pos, err)
				}
			}
		})
	}
}

func sdkSigned(t *testing.T, secret, token string, at time.Time, region string, extraHeader map[string]string) (*http.Request, []byte) {
	t.Helper()
	body := []byte(`{"ChannelName":"demo"}`)
	r := httptest.NewRequest(http.MethodPost, "https://127.0.0.1:4443/describeSignalingChannel", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range extraHeader {
		r.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "kinesisvideo", region, at); err != nil {
		t.Fatal(err)
	}
	return r, body
}

func TestVerifyHeaderAgainstSDKSigner(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	known := Secret{SecretAccessKey: "s3cret", SessionToken: "tok+en/="}
	tests := []struct {
		name   string
		secret string
		token  string
		at     time.Time
		region string
		known  Secret
		code   Code
		inMsg  string
	}{
		{name: "valid", secret: "s3cret", token: "tok+en/=", at: now, region: "us-west-2", known: known},
		{name: "forged signature", secret: "wrong", token: "tok+en/=", at: now, region: "us-west-2", known: known, code: CodeInvalidSignature, inMsg: "does not match"},
		{name: "missing token", secret: "s3cret", at: now, region: "us-west-2", known: known, code: CodeUnrecognizedClient},
		{name: "wrong token", secret: "s3cret", token: "other", at: now, region: "us-west-2", known: known, code: CodeUnrecognizedClient},
		{name: "expired token", secret: "s3cret", token: "tok+en/=", at: now, region: "us-west-2",
			known: Secret{SecretAccessKey: "s3cret", SessionToken: "tok+en/=", Expiration: now.Add(-time.Second)}, code: CodeExpiredToken},
		{name: "clock behind", secret: "s3cret", token: "tok+en/=", at: now.Add(-10 * time.Minute), region: "us-west-2", known: known, code: CodeInvalidSignature, inMsg: "Signature expired"},
		{name: "clock ahead", secret: "s3cret", token: "tok+en/=", at: now.Add(10 * time.Minute), region: "us-west-2", known: known, code: CodeInvalidSignature, inMsg: "Signature not yet current"},
		{name: "skew inside window", secret: "s3cret", token: "tok+en/=", at: now.Add(-4 * time.Minute), region: "us-west-2", known: known},
		{name: "wrong region", secret: "s3cret", token: "tok+en/=", at: now, region: "cn-north-1", known: known, code: CodeInvalidSignature, inMsg: "valid region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := sdkSigned(t, tt.secret, tt.token, tt.at, tt.region, nil)
			v := &Verifier{Service: "kinesisvideo", Region: "us-west-2", Now: func() time.Time { return now },
				Lookup: func(id string) (Secret, bool) { return tt.known, id == "AKIDTEST" }}
			_, err := v.VerifyHeader(r, body)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Code != tt.code || !strings.Contains(se.Message, tt.inMsg) {
				t.Fatalf("want %s containing %q, got %v", tt.code, tt.inMsg, err)
			}
			if strings.Contains(se.Message, tt.secret) || (tt.token != "" && strings.Contains(se.Message, tt.token)) {
				t.Fatalf("error message leaks a secret: %q", se.Message)
			}
		})
	}
}

// The C SDK signs user-agent and leaves the token unsigned (spec §1.1).
func TestVerifyHeaderCSDKStyle(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	body := []byte("{\n\t\"ChannelARN\": \"x\"\n}")
	r := httptest.NewRequest(http.MethodPost, "/getSignalingChannelEndpoint", bytes.NewReader(body))
	r.Host = "kinesisvideo.us-west-2.amazonaws.com"
	r.Header.Set("User-Agent", "AWS-WebRTC-KVS-Agent/1.0  c")
	r.Header.Set("X-Amz-Date", now.Format(timeFormat))
	r.Header.Set("X-Amz-Security-Token", "tok")
	signed := []string{"host", "user-agent", "x-amz-date"}
	scope := Scope{Day: "20261125", Region: "us-west-2", Service: "kinesisvideo"}
	sum := sha256.Sum256(body)
	canon, err := canonicalRequest(r, signed, url.Values{}, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	sig := hex.EncodeToString(Sign("s3cret", now, scope, canon))
	r.Header.Set("Authorization", Algorithm+" Credential=AKIDC/20261125/us-west-2/kinesisvideo/aws4_request, SignedHeaders=host;user-agent;x-amz-date, Signature="+sig)
	v := &Verifier{Service: "kinesisvideo", Region: "us-west-2", Now: func() time.Time { return now },
		Lookup: func(id string) (Secret, bool) {
			return Secret{SecretAccessKey: "s3cret", SessionToken: "tok"}, id == "AKIDC"
		}}
	if _, err := v.VerifyHeader(r, body); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("User-Agent", "tampered")
	if _, err := v.VerifyHeader(r, body); err == nil {
		t.Fatal("tampered signed header accepted")
	}
}

func TestPresignExpiredAndMalformed(t *testing.T) {
	date := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := httptest.NewRequest(http.MethodGet, "wss://127.0.0.1:4443/v-1?X-Amz-ChannelARN=a", nil)
	creds := aws.Credentials{AccessKeyID: "AKIDP", SecretAccessKey: "s"}
	q := r.URL.Query()
	q.Set("X-Amz-Expires", "60")
	r.URL.RawQuery = q.Encode()
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, EmptySHA256, "kinesisvideo", "us-west-2", date)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	mk := func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, pu.RequestURI(), nil)
		req.Host = pu.Host
		return req
	}
	v := &Verifier{Service: "kinesisvideo", Region: "us-west-2", Lookup: func(id string) (Secret, bool) { return Secret{SecretAccessKey: "s"}, id == "AKIDP" }}
	v.Now = func() time.Time { return date.Add(30 * time.Second) }
	if _, err := v.VerifyQuery(mk()); err != nil {
		t.Fatalf("SDK presigned URL refused: %v", err)
	}
	v.Now = func() time.Time { return date.Add(61 * time.Second) }
	var se *Error
	if _, err := v.VerifyQuery(mk()); !errors.As(err, &se) || se.Code != CodeAccessDenied {
		t.Fatalf("expired presign: got %v", err)
	}
	v.Now = func() time.Time { return date }
	bad := mk()
	bad.URL.RawQuery = strings.Replace(bad.URL.RawQuery, "X-Amz-Credential=", "X-Amz-Credential=x", 1)
	if _, err := v.VerifyQuery(bad); !errors.As(err, &se) || se.Code != CodeUnrecognizedClient {
		t.Fatalf("unknown key: got %v", err)
	}
}

func FuzzVerifyQuery(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261125%2Fus-west-2%2Fkinesisvideo%2Faws4_request&X-Amz-Date=20261125T120000Z&X-Amz-Expires=299&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("X-Amz-Signature=%zz")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = raw
		v := &Verifier{Service: "kinesisvideo", Region: "us-west-2", Now: time.Now,
			Lookup: func(string) (Secret, bool) { return Secret{SecretAccessKey: "s"}, true }}
		if _, err := v.VerifyQuery(r); err == nil {
			t.Fatalf("accepted a query with no valid signature: %q", raw)
		}
	})
}
