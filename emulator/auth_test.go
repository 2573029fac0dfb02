package emulator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/smithy-go"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// Forged signature, unknown key, missing/wrong/expired token and a skewed
// clock are each refused with AWS's error type and status 403 (§5.1, §13).
func TestAuthFailures(t *testing.T) {
	temp := emulator.Credential{AccessKeyID: "ASIATEMPORARY", SecretAccessKey: "temp-secret", SessionToken: "temp+token/=="}
	expired := emulator.Credential{AccessKeyID: "ASIAEXPIRED", SecretAccessKey: "old-secret", SessionToken: "old-token",
		Expiration: time.Now().Add(-time.Minute)}
	e := emulatortest.Start(t, emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential, temp, expired}})
	skewed := emulatortest.Start(t, emulator.Options{ClockOffset: 10 * time.Minute})
	tests := []struct {
		name   string
		e      *emulator.Emulator
		creds  emulator.Credential
		code   string
		inMsg  string
		secret string
	}{
		{"forged signature", e, emulator.Credential{AccessKeyID: emulator.DevCredential.AccessKeyID, SecretAccessKey: "forged"}, "InvalidSignatureException", "signature we calculated does not match", "forged"},
		{"unknown key", e, emulator.Credential{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: "x"}, "UnrecognizedClientException", "security token included in the request is invalid", ""},
		{"missing token", e, emulator.Credential{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey}, "UnrecognizedClientException", "invalid", ""},
		{"wrong token", e, emulator.Credential{AccessKeyID: temp.AccessKeyID, SecretAccessKey: temp.SecretAccessKey, SessionToken: "wrong"}, "UnrecognizedClientException", "invalid", "wrong"},
		{"expired token", e, expired, "ExpiredTokenException", "security token included in the request is expired", expired.SessionToken},
		{"clock skew", skewed, emulator.DevCredential, "InvalidSignatureException", "Signature expired", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := emulatortest.Config(tt.e)
			cfg.Credentials = staticCreds(tt.creds)
			c := kinesisvideo.NewFromConfig(cfg, noRetry)
			_, err := c.ListSignalingChannels(context.Background(), &kinesisvideo.ListSignalingChannelsInput{})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || !strings.Contains(ae.ErrorMessage(), tt.inMsg) {
				t.Fatalf("want %s (%q), got %v", tt.code, tt.inMsg, err)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
				t.Fatalf("want status 403, got %v", err)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
	// The valid temporary credential works.
	cfg := emulatortest.Config(e)
	cfg.Credentials = staticCreds(temp)
	if _, err := kinesisvideo.NewFromConfig(cfg, noRetry).ListSignalingChannels(context.Background(), &kinesisvideo.ListSignalingChannelsInput{}); err != nil {
		t.Fatalf("temporary credential refused: %v", err)
	}
}

// Every response carries Date from the emulator's (shifted) clock and a
// request id; browsers get CORS headers (§8 items 3–4).
func TestResponseHeadersAndCORS(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{ClockOffset: 2 * time.Hour})
	hc := emulatortest.HTTPClient(e)
	req, _ := http.NewRequest(http.MethodOptions, e.URL()+"/describeSignalingChannel", nil)
	req.Header.Set("Origin", "http://127.0.0.1:9999")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-amz-date")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:9999" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "x-amz-date") ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Date") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = hc.Post(e.URL()+"/describeSignalingChannel", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || time.Until(d) < 119*time.Minute || time.Until(d) > 121*time.Minute {
		t.Fatalf("Date %q is not 2 h ahead: %v", resp.Header.Get("Date"), err)
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" || resp.StatusCode != 403 ||
		resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException:https://kinesisvideo.amazonaws.com/doc/2017-09-30/" {
		t.Fatalf("unsigned request: %d %v", resp.StatusCode, resp.Header)
	}
}

// signedPost sends body to path, signed with the default credential.
func signedPost(t *testing.T, e *emulator.Emulator, path string, body []byte, mutate func(*http.Request)) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	c := e.Credential()
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "kinesisvideo", e.Region(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := emulatortest.HTTPClient(e).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}
