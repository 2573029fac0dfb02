package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// closedURL is an https URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	type env struct {
		e   *emulator.Emulator
		cfg aws.Config
		arn channel.ARN
		ep  resolve.Endpoints // good endpoints for arn, VIEWER
	}
	setup := func(t *testing.T, opts emulator.Options) env {
		opts.Credentials = append([]emulator.Credential{emulator.DevCredential}, opts.Credentials...)
		e, cfg := start(t, opts)
		arn := createChannel(t, e, "errs")
		ep, err := resolve.New(cfg, resolve.Options{NoCache: true}).Endpoints(ctx, arn, channel.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		return env{e, cfg, arn, ep}
	}
	withCreds := func(cfg aws.Config, id, secret, token string) aws.Config {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, token)
		return cfg
	}
	for _, tc := range []struct {
		name    string
		opts    emulator.Options
		run     func(t *testing.T, v env) error
		is      error
		in      []string // substrings of the message
		noCalls bool     // refused before any call
		check   func(t *testing.T, err error)
	}{
		{
			name: "channel not found",
			run: func(t *testing.T, v env) error {
				gone := v.arn
				gone.Name = "no-such-channel"
				_, err := resolve.New(v.cfg, resolve.Options{}).Endpoints(ctx, gone, channel.RoleViewer)
				return err
			},
			is: resolve.ErrChannelNotFound, in: []string{"channel not found: arn:aws:kinesisvideo:us-west-2:123456789012:channel/no-such-channel/", "ResourceNotFoundException"},
		},
		{
			name: "channel not found on the data plane",
			run: func(t *testing.T, v env) error {
				ep := v.ep
				gone := v.arn
				gone.CreationMillis++
				ep.ChannelARN = gone.String()
				_, err := resolve.New(v.cfg, resolve.Options{}).ICEServers(ctx, ep, "")
				return err
			},
			is: resolve.ErrChannelNotFound, in: []string{"channel not found: arn:aws:", "GetIceServerConfig"},
		},
		{
			name: "channel name not found",
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(v.cfg, resolve.Options{}).ARNByName(ctx, "", "missing")
				return err
			},
			is: resolve.ErrChannelNotFound, in: []string{"find channel missing in us-west-2: channel not found"},
		},
		{
			name: "access denied on the control plane",
			opts: emulator.Options{Credentials: []emulator.Credential{testCredential("kinesisvideo:DescribeSignalingChannel")}},
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(withCreds(v.cfg, "AKIDKVSRTCRESOLVE01", testSecret, ""), resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleMaster)
				return err
			},
			is: resolve.ErrAccessDenied, in: []string{"access denied: the credential may not perform kinesisvideo:GetSignalingChannelEndpoint on arn:aws:kinesisvideo:"},
			check: func(t *testing.T, err error) {
				var ad *resolve.AccessDeniedError
				if !errors.As(err, &ad) || ad.Action != "kinesisvideo:GetSignalingChannelEndpoint" {
					t.Errorf("AccessDeniedError = %+v", ad)
				}
			},
		},
		{
			name: "access denied on the data plane",
			opts: emulator.Options{Credentials: []emulator.Credential{testCredential("kinesisvideo:GetSignalingChannelEndpoint")}},
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(withCreds(v.cfg, "AKIDKVSRTCRESOLVE01", testSecret, ""), resolve.Options{}).Resolve(ctx, v.arn, channel.RoleViewer, "c1")
				return err
			},
			is: resolve.ErrAccessDenied, in: []string{"may not perform kinesisvideo:GetIceServerConfig", "NotAuthorizedException"},
		},
		{
			name: "wrong secret key",
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(withCreds(v.cfg, emulator.DevCredential.AccessKeyID, testSecret, ""), resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrAuth, in: []string{"credentials missing, invalid or expired", "InvalidSignatureException", "signature we calculated does not match"},
		},
		{
			name: "wrong secret key on the data plane",
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(withCreds(v.cfg, emulator.DevCredential.AccessKeyID, testSecret, ""), resolve.Options{}).ICEServers(ctx, v.ep, "")
				return err
			},
			is: resolve.ErrAuth, in: []string{"credentials missing, invalid or expired", "GetIceServerConfig", "InvalidSignatureException"},
		},
		{
			name: "unknown access key",
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(withCreds(v.cfg, "AKIDUNKNOWN", testSecret, ""), resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrAuth, in: []string{"UnrecognizedClientException", "security token included in the request is invalid"},
		},
		{
			name: "expired session token",
			opts: emulator.Options{Credentials: []emulator.Credential{{AccessKeyID: "ASIAEXPIRED", SecretAccessKey: testSecret, SessionToken: "tokenTOKENtoken", Expiration: time.Now().Add(-time.Hour)}}},
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(withCreds(v.cfg, "ASIAEXPIRED", testSecret, "tokenTOKENtoken"), resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrAuth, in: []string{"ExpiredTokenException", "expired"},
		},
		{
			name: "region mismatch",
			run: func(t *testing.T, v env) error {
				_, err := resolve.New(v.cfg, resolve.Options{Region: "eu-west-1"}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrRegionMismatch, in: []string{`"eu-west-1"`, `region "us-west-2" of channel ARN`}, noCalls: true,
		},
		{
			name: "China region under arn:aws",
			run: func(t *testing.T, v env) error {
				arn := channel.ARN{Partition: "aws", Region: "cn-north-1", Account: "123456789012", Name: "cam", CreationMillis: 1700506395046}
				_, err := resolve.New(v.cfg, resolve.Options{}).Endpoints(ctx, arn, channel.RoleViewer)
				return err
			},
			is: channel.ErrInvalidARN, in: []string{"arn:aws-cn:kinesisvideo:cn-north-1:123456789012:channel/cam/1700506395046"}, noCalls: true,
		},
		{
			name: "endpoint unreachable",
			run: func(t *testing.T, v env) error {
				cfg := v.cfg
				cfg.BaseEndpoint = aws.String(closedURL(t))
				_, err := resolve.New(cfg, resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrUnreachable, in: []string{"endpoint unreachable", "connection refused"},
		},
		{
			name: "data-plane endpoint unreachable",
			run: func(t *testing.T, v env) error {
				ep := v.ep
				ep.HTTPS = closedURL(t) + "/r-00000000"
				_, err := resolve.New(v.cfg, resolve.Options{}).ICEServers(ctx, ep, "")
				return err
			},
			is: resolve.ErrUnreachable, in: []string{"endpoint unreachable", "GetIceServerConfig", "connection refused"},
		},
		{
			name: "throttled after retries",
			run: func(t *testing.T, v env) error {
				cfg := v.cfg
				cfg.HTTPClient = &throttleFirst{next: cfg.HTTPClient, suffix: "/getSignalingChannelEndpoint", n: 100}
				_, err := resolve.New(cfg, resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrThrottled, in: []string{"throttled by the service", "ClientLimitExceededException", "exceeded maximum number of attempts, 3"},
		},
		{
			name: "data plane throttled after retries",
			run: func(t *testing.T, v env) error {
				cfg := v.cfg
				cfg.HTTPClient = &throttleFirst{next: cfg.HTTPClient, suffix: "/v1/get-ice-server-config", n: 100}
				_, err := resolve.New(cfg, resolve.Options{}).ICEServers(ctx, v.ep, "")
				return err
			},
			is: resolve.ErrThrottled, in: []string{"throttled by the service", "exceeded maximum number of attempts, 3"},
		},
		{
			name: "clock skew not correctable",
			opts: emulator.Options{ClockOffset: 10 * time.Minute},
			run: func(t *testing.T, v env) error {
				cfg := v.cfg
				// A proxy that stamps its own (local) Date hides the skew.
				cfg.HTTPClient = &rewriter{next: cfg.HTTPClient, rewrite: func(_ *http.Request, resp *http.Response) *http.Response {
					resp.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
					return resp
				}}
				_, err := resolve.New(cfg, resolve.Options{}).Endpoints(ctx, v.arn, channel.RoleViewer)
				return err
			},
			is: resolve.ErrClockSkew, in: []string{"clock skew too large to correct: request signed at", "service time", "off by 10m0s", "Signature expired"},
			check: func(t *testing.T, err error) {
				var ce *resolve.ClockSkewError
				if !errors.As(err, &ce) {
					t.Fatal("not a ClockSkewError")
				}
				if d := ce.Server.Sub(ce.Local); d < 9*time.Minute || d > 11*time.Minute {
					t.Errorf("server − local = %v, want about 10 min", d)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := setup(t, tc.opts)
			before := v.e.TotalRequests()
			err := tc.run(t, v)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q does not match %v", err, tc.is)
			}
			for _, s := range tc.in {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "tokenTOKENtoken") {
				t.Errorf("error carries a secret: %q", err)
			}
			if n := v.e.TotalRequests() - before; tc.noCalls && n != 0 {
				t.Errorf("%d calls, want none", n)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

// Throttling is retried with backoff until it passes.
func TestThrottleRetried(t *testing.T) {
	e, cfg := start(t, emulator.Options{})
	arn := createChannel(t, e, "throttle")
	cfg.Retryer = fastRetryer(5)
	cp := &throttleFirst{next: cfg.HTTPClient, suffix: "/getSignalingChannelEndpoint", n: 2}
	dp := &throttleFirst{next: cp, suffix: "/v1/get-ice-server-config", n: 3}
	cfg.HTTPClient = dp
	if _, err := resolve.New(cfg, resolve.Options{}).Resolve(context.Background(), arn, channel.RoleMaster, ""); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cp.seen.Load(), dp.seen.Load(), e.Requests("GetSignalingChannelEndpoint"), e.Requests("GetIceServerConfig")); got != "3 4 1 1" {
		t.Errorf("attempts (cp, dp, served cp, served dp) = %s, want 3 4 1 1", got)
	}
}

// A GetSignalingChannelEndpoint answer without WSS is an error naming it.
func TestEndpointMissing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ResourceEndpointList":[{"Protocol":"HTTPS","ResourceEndpoint":"https://r-1.example"},{"Protocol":"WEBRTC","ResourceEndpoint":"https://w-1.example"}]}`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-west-2", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", testSecret, ""), Retryer: fastRetryer(1)}
	arn, _ := channel.ParseARN("arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700506395046")
	_, err := resolve.New(cfg, resolve.Options{}).Endpoints(context.Background(), arn, channel.RoleViewer)
	var me *resolve.EndpointMissingError
	if !errors.Is(err, resolve.ErrEndpointMissing) || !errors.As(err, &me) || me.Protocol != "WSS" {
		t.Fatalf("err = %v", err)
	}
	if want := "resolve endpoints for channel/demo: endpoint missing: no WSS endpoint in the GetSignalingChannelEndpoint answer (got HTTPS, WEBRTC)"; err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}
