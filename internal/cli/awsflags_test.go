package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/emulator"
)

// fakeKVS answers every call with one error, as the service's front end would.
func fakeKVS(t *testing.T, status int, code, body string, date func() time.Time) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", date().UTC().Format(http.TimeFormat))
		w.Header().Set("X-Amzn-ErrorType", code+":https://kinesisvideo.amazonaws.com/doc/2017-09-30/")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Every error a person can act on: its message, hint and exit code.
func TestCommandErrors(t *testing.T) {
	const other = "arn:aws:kinesisvideo:us-west-2:123456789012:channel/nope/1700506395046"
	for _, tc := range []struct {
		name string
		opts emulator.Options
		env  func(t *testing.T) []string // extra env after the emulator's
		args func(arn string) []string
		code int
		in   []string // in stderr
	}{
		{
			name: "channel not found",
			args: func(string) []string { return []string{"endpoints", "--channel-arn", other} },
			code: ExitNotFound, in: []string{"kvsrtc: resolve endpoints for channel/nope: channel not found: " + other, "hint: check the channel ARN"},
		},
		{
			name: "channel name not found",
			args: func(string) []string { return []string{"ice", "--channel-name", "nope"} },
			code: ExitNotFound, in: []string{"find channel nope in us-west-2: channel not found"},
		},
		{
			name: "access denied names the action",
			opts: emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential,
				{AccessKeyID: "AKIDLIMITED", SecretAccessKey: cliSecret, Actions: []string{"kinesisvideo:GetSignalingChannelEndpoint"}}}},
			env: func(*testing.T) []string {
				return []string{"AWS_ACCESS_KEY_ID=AKIDLIMITED", "AWS_SECRET_ACCESS_KEY=" + cliSecret}
			},
			args: func(arn string) []string { return []string{"ice", "--channel-arn", arn} },
			code: ExitDenied, in: []string{"access denied: the credential may not perform kinesisvideo:GetIceServerConfig on arn:aws:kinesisvideo:",
				"hint: allow kinesisvideo:GetIceServerConfig on the channel"},
		},
		{
			name: "access denied on the control plane",
			opts: emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential,
				{AccessKeyID: "AKIDLIMITED", SecretAccessKey: cliSecret, Actions: []string{"kinesisvideo:GetIceServerConfig"}}}},
			env: func(*testing.T) []string {
				return []string{"AWS_ACCESS_KEY_ID=AKIDLIMITED", "AWS_SECRET_ACCESS_KEY=" + cliSecret}
			},
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitDenied, in: []string{"may not perform kinesisvideo:GetSignalingChannelEndpoint"},
		},
		{
			name: "invalid credentials",
			env:  func(*testing.T) []string { return []string{"AWS_SECRET_ACCESS_KEY=" + cliSecret} },
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitAuth, in: []string{"credentials missing, invalid or expired", "InvalidSignatureException", "hint: check the credentials"},
		},
		{
			name: "expired credentials",
			opts: emulator.Options{Credentials: []emulator.Credential{emulator.DevCredential,
				{AccessKeyID: "ASIAOLD", SecretAccessKey: cliSecret, SessionToken: "oldTOKENold", Expiration: time.Now().Add(-time.Minute)}}},
			env: func(*testing.T) []string {
				return []string{"AWS_ACCESS_KEY_ID=ASIAOLD", "AWS_SECRET_ACCESS_KEY=" + cliSecret, "AWS_SESSION_TOKEN=oldTOKENold"}
			},
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitAuth, in: []string{"ExpiredTokenException", "The security token included in the request is expired"},
		},
		{
			name: "no credentials",
			env:  func(*testing.T) []string { return []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="} },
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitAuth, in: []string{"credentials missing, invalid or expired"},
		},
		{
			name: "region mismatch",
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn, "--region", "eu-west-1"} },
			code: ExitUsage, in: []string{`region "eu-west-1" does not match region "us-west-2" of channel ARN`},
		},
		{
			name: "China ARN under arn:aws",
			args: func(string) []string {
				return []string{"endpoints", "--channel-arn", "arn:aws:kinesisvideo:cn-north-1:123456789012:channel/cam/1700506395046"}
			},
			code: ExitUsage, in: []string{"use arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/cam/1700506395046"},
		},
		{
			name: "endpoint unreachable",
			env: func(t *testing.T) []string {
				return []string{"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + closedURL(t), "AWS_MAX_ATTEMPTS=2"}
			},
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitNetwork, in: []string{"endpoint unreachable", "connection refused", "hint: check the network"},
		},
		{
			name: "throttled",
			env: func(t *testing.T) []string {
				u := fakeKVS(t, 400, "ClientLimitExceededException", `{"Message":"slow down"}`, time.Now)
				return []string{"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + u, "AWS_MAX_ATTEMPTS=2"}
			},
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitThrottle, in: []string{"throttled by the service", "exceeded maximum number of attempts, 2", "slow down"},
		},
		{
			name: "clock skew too large to correct",
			env: func(t *testing.T) []string {
				// The front end refuses the time but its Date agrees with
				// ours (a proxy rewrote it): nothing to correct with.
				u := fakeKVS(t, 403, "InvalidSignatureException",
					`{"message":"Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)"}`, time.Now)
				return []string{"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + u}
			},
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn} },
			code: ExitAuth, in: []string{"clock skew too large to correct: request signed at 2026-01-01T00:00:00Z, service time 2026-01-01T00:10:00Z (off by 10m0s)",
				"hint: set the system clock"},
		},
		{
			name: "both ARN and name",
			args: func(arn string) []string { return []string{"ice", "--channel-arn", arn, "--channel-name", "cam"} },
			code: ExitUsage, in: []string{"give --channel-arn or --channel-name, not both"},
		},
		{
			name: "no channel",
			args: func(string) []string { return []string{"ice"} },
			code: ExitUsage, in: []string{"give --channel-arn or --channel-name"},
		},
		{
			name: "bad role",
			args: func(arn string) []string { return []string{"endpoints", "--channel-arn", arn, "--role", "boss"} },
			code: ExitUsage, in: []string{`role "boss": want master or viewer`},
		},
		{
			name: "bad client id",
			args: func(arn string) []string { return []string{"ice", "--channel-arn", arn, "--client-id", "a b"} },
			code: ExitUsage, in: []string{"client"},
		},
		{
			name: "unknown flag",
			args: func(string) []string { return []string{"endpoints", "--nope"} },
			code: ExitUsage, in: []string{"unknown flag: --nope"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, arn := startEmulator(t, tc.opts, "cam")
			if tc.env != nil {
				for _, kv := range tc.env(t) {
					k, v, _ := strings.Cut(kv, "=")
					t.Setenv(k, v)
				}
			}
			stdout, stderr, code := run(t, tc.args(arn)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, s := range tc.in {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout on failure: %q", stdout)
			}
			for _, s := range []string{"oldTOKENold"} {
				if strings.Contains(stderr, s) {
					t.Errorf("stderr holds a secret")
				}
			}
		})
	}
}

// Flags reach the options struct (runF replaces the work).
func TestEndpointsFlags(t *testing.T) {
	cliEnv(t)
	var got *endpointsOptions
	cmd := newEndpointsCmd(&IOStreams{}, func(_ context.Context, o *endpointsOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--channel-name", "cam", "--role", "master", "--region", "cn-north-1", "--profile", "p",
		"--endpoint-url", "https://x", "--ca-bundle", "/ca.pem", "--credentials-url", "http://127.0.0.1/c", "--json", "-v", "--no-cache", "--fips", "--dualstack"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := awsOptions{Region: "cn-north-1", Profile: "p", EndpointURL: "https://x", CABundle: "/ca.pem", CredentialsURL: "http://127.0.0.1/c",
		FIPS: true, DualStack: true, NoCache: true, JSON: true, Verbose: true, IoT: iotFlags{Refresh: creds.DefaultExpiryWindow}}
	if got.AWS != want || got.Channel.Name != "cam" || got.Role != "master" {
		t.Errorf("options = %+v", got)
	}
}
