package creds

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const (
	testAK    = "AKIDEXAMPLE0000001"
	testSK    = "sk-Zq8nT3vWx9SECRETsecret+/=kvsrtc"
	testToken = "tok-FwoGZXIvYXdzEJr//////////SESSIONtoken=="
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestParseResponse(t *testing.T) {
	exp := time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)
	arn := "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700506395046"
	tests := []struct {
		name string
		body string
		want Response
	}{
		{"short shape, everything",
			`{"ak":"` + testAK + `","sk":"` + testSK + `","token":"` + testToken + `","region":"us-west-2","arn":"` + arn + `","expiration":"2025-06-01T13:00:00Z"}`,
			Response{testAK, testSK, testToken, exp, "us-west-2", arn}},
		{"short shape, keys only", `{"ak":"a","sk":"s"}`, Response{AccessKeyID: "a", SecretAccessKey: "s"}},
		{"expiration in epoch seconds", `{"ak":"a","sk":"s","expiration":1748782800}`, Response{AccessKeyID: "a", SecretAccessKey: "s", Expires: exp}},
		{"expiration in epoch milliseconds", `{"ak":"a","sk":"s","expiration":1748782800000}`, Response{AccessKeyID: "a", SecretAccessKey: "s", Expires: exp}},
		{"expiration with fraction", `{"ak":"a","sk":"s","expiration":1748782800.5}`, Response{AccessKeyID: "a", SecretAccessKey: "s", Expires: exp.Add(500 * time.Millisecond)}},
		{"expiration with offset", `{"ak":"a","sk":"s","expiration":"2025-06-01T15:00:00+02:00"}`, Response{AccessKeyID: "a", SecretAccessKey: "s", Expires: exp}},
		{"null expiration", `{"ak":"a","sk":"s","expiration":null}`, Response{AccessKeyID: "a", SecretAccessKey: "s"}},
		{"container shape",
			`{"AccessKeyId":"` + testAK + `","SecretAccessKey":"` + testSK + `","Token":"` + testToken + `","Expiration":"2025-06-01T13:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/x"}`,
			Response{AccessKeyID: testAK, SecretAccessKey: testSK, SessionToken: testToken, Expires: exp}},
		{"container shape with region", `{"AccessKeyId":"a","SecretAccessKey":"s","region":"cn-north-1"}`, Response{AccessKeyID: "a", SecretAccessKey: "s", Region: "cn-north-1"}},
		{"short shape with container-style token", `{"ak":"a","sk":"s","Token":"t","Expiration":"2025-06-01T13:00:00Z"}`,
			Response{AccessKeyID: "a", SecretAccessKey: "s", SessionToken: "t", Expires: exp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse([]byte(tt.body), testNow)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if !got.Expires.Equal(tt.want.Expires) {
				t.Errorf("Expires = %v, want %v", got.Expires, tt.want.Expires)
			}
			got.Expires, tt.want.Expires = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	keys := `"ak":"a","sk":"` + testSK + `","token":"` + testToken + `"`
	tests := []struct {
		name string
		body string
		msg  string
	}{
		{"empty", ``, `response is empty: want a JSON object`},
		{"HTML", `<html><body>Sign in</body></html>`, `response is not JSON: it looks like HTML (is the URL right?)`},
		{"not JSON", `ak=a&sk=` + testSK, `response is not JSON: syntax error at byte 1`},
		{"truncated", `{"ak":"a","sk":"` + testSK, `response is not JSON: syntax error at byte 50`},
		{"array", `[1,2]`, `response is a JSON array: want an object`},
		{"string", `"` + testSK + `"`, `response is a JSON string: want an object`},
		{"neither shape", `{"user":"x"}`, `response has neither "ak" and "sk" nor "AccessKeyId" and "SecretAccessKey"`},
		{"both shapes", `{"ak":"a","sk":"s","AccessKeyId":"a","SecretAccessKey":"s"}`, `response has both "ak"/"sk" and "AccessKeyId"/"SecretAccessKey": send one shape`},
		{"missing ak", `{"sk":"` + testSK + `"}`, `response is missing "ak"`},
		{"missing sk", `{"ak":"a","token":"` + testToken + `"}`, `response is missing "sk"`},
		{"empty sk", `{"ak":"a","sk":""}`, `response field "sk" is empty`},
		{"sk is a number", `{"ak":"a","sk":12345678}`, `response field "sk" is a JSON number: want a string`},
		{"missing SecretAccessKey", `{"AccessKeyId":"a","Token":"t"}`, `response is missing "SecretAccessKey"`},
		{"missing AccessKeyId", `{"SecretAccessKey":"s"}`, `response is missing "AccessKeyId"`},
		{"bad expiration", `{` + keys + `,"expiration":"tomorrow"}`, `response field "expiration" is "tomorrow": want an RFC 3339 time or epoch seconds or milliseconds`},
		{"negative expiration", `{` + keys + `,"expiration":-5}`, `response field "expiration" is -5: want an RFC 3339 time or epoch seconds or milliseconds`},
		{"boolean expiration", `{` + keys + `,"expiration":true}`, `response field "expiration" is true: want an RFC 3339 time or epoch seconds or milliseconds`},
		{"past expiration", `{` + keys + `,"expiration":"2025-06-01T11:00:00Z"}`, `response field "expiration" is 2025-06-01T11:00:00Z, which has passed (now is 2025-06-01T12:00:00Z)`},
		{"past Expiration", `{"AccessKeyId":"a","SecretAccessKey":"s","Expiration":1000000000}`, `response field "Expiration" is 2001-09-09T01:46:40Z, which has passed (now is 2025-06-01T12:00:00Z)`},
		{"bad region", `{` + keys + `,"region":"US West"}`, `response field "region" is "US West": want a region such as us-west-2`},
		{"stream ARN", `{` + keys + `,"arn":"arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1700506395046"}`,
			`response field "arn": channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1700506395046" has resource type "stream": want channel: this is a stream ARN, which names a video stream, not a signaling channel`},
		{"ARN in another region", `{` + keys + `,"region":"eu-west-1","arn":"arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700506395046"}`,
			`response fields "arn" and "region" disagree: region "eu-west-1" does not match region "us-west-2" of channel ARN "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700506395046": use us-west-2 or leave the region unset`},
		{"secret echoed in region", `{` + keys + `,"region":"` + testSK + `"}`, `response field "region" is ****: want a region such as us-west-2`},
		{"token echoed in expiration", `{` + keys + `,"expiration":"` + testToken + `"}`, `response field "expiration" is ****: want an RFC 3339 time or epoch seconds or milliseconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseResponse([]byte(tt.body), testNow)
			if err == nil {
				t.Fatal("ParseResponse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidResponse) {
				t.Errorf("error %v does not match ErrInvalidResponse", err)
			}
			if err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func TestResponseRedaction(t *testing.T) {
	r := Response{AccessKeyID: testAK, SecretAccessKey: testSK, SessionToken: testToken, Region: "us-west-2"}
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Info("creds", "r", r, "p", &r)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("creds", "r", r)
	out := fmt.Sprintf("%v %+v %#v %s %v", r, r, r, r, &r) + buf.String()
	assertNoSecrets(t, "output", out)
	for _, want := range []string{testAK, `"secret_access_key":"****"`, `"session_token":"****"`, "SecretAccessKey:****"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := json.Marshal(struct{ Region string }{r.Region}); err != nil || len(b) == 0 {
		t.Fatal(err)
	}
}

// assertNoSecrets fails if s holds any of the test secrets.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testSK, testToken, testAuth, "QUERYSECRET"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret %q:\n%s", what, secret, s)
		}
	}
}
