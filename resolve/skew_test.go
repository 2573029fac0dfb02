package resolve_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// presignList presigns an empty-bodied ListSignalingChannels POST at signing
// time now, as package signaling presigns its WSS URL, and sends it.
func presignList(t *testing.T, e *emulator.Emulator, cfg aws.Config, now time.Time) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL()+"/listSignalingChannels?X-Amz-Expires=300", nil)
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, "kinesisvideo", e.Region(), now)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := emulatortest.HTTPClient(e).Post(u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// With the service's clock 10 minutes ahead, every call and a presigned URL
// work once the offset is measured: the control plane by the SDK's own
// correction, GetIceServerConfig and the presign by the Resolver's clock.
func TestClockSkewCorrected(t *testing.T) {
	for _, ahead := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(ahead.String(), func(t *testing.T) {
			e, cfg := start(t, emulator.Options{ClockOffset: ahead, Region: "cn-north-1"})
			arn := createChannel(t, e, "skewed")
			ctx := context.Background()
			if code := presignList(t, e, cfg, time.Now()); code != http.StatusForbidden {
				t.Fatalf("presign with the local clock: status %d, want 403 (is the emulator skewed?)", code)
			}
			dir := t.TempDir()
			r := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)})
			res, err := r.Resolve(ctx, arn, channel.RoleViewer, "v1")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.ICE.Servers) != 3 {
				t.Errorf("ICE servers %v", res.ICE.Servers)
			}
			if off := r.ClockOffset(); (off - ahead).Abs() > 3*time.Second {
				t.Errorf("ClockOffset = %v, want about %v", off, ahead)
			}
			if code := presignList(t, e, cfg, r.Clock()()); code != http.StatusOK {
				t.Errorf("presign with Resolver.Clock: status %d, want 200", code)
			}
			// A new process with cached endpoints starts with no offset: its
			// first call is the hand-written GetIceServerConfig, which must
			// correct itself (one refused attempt, one good one).
			r2 := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)})
			ep, err := r2.Endpoints(ctx, arn, channel.RoleMaster)
			if err != nil {
				t.Fatal(err)
			}
			if err := r2.Invalidate(ctx, arn, channel.RoleUnknown); err != nil {
				t.Fatal(err)
			}
			r3 := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)})
			before := e.Requests("GetIceServerConfig")
			if _, err := r3.ICEServers(ctx, ep, "m1"); err != nil {
				t.Fatal(err)
			}
			if n := e.Requests("GetIceServerConfig") - before; n != 2 {
				t.Errorf("%d GetIceServerConfig attempts, want 2 (refused, then corrected)", n)
			}
			if off := r3.ClockOffset(); (off - ahead).Abs() > 3*time.Second {
				t.Errorf("ClockOffset after GetIceServerConfig = %v, want about %v", off, ahead)
			}
		})
	}
}

// Under skew, a denied action is still reported by name.
func TestClockSkewAccessDenied(t *testing.T) {
	e, cfg := start(t, emulator.Options{ClockOffset: 10 * time.Minute,
		Credentials: []emulator.Credential{emulator.DevCredential, testCredential("kinesisvideo:GetSignalingChannelEndpoint")}})
	arn := createChannel(t, e, "skew-denied")
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDKVSRTCRESOLVE01", testSecret, "")
	_, err := resolve.New(cfg, resolve.Options{}).Resolve(context.Background(), arn, channel.RoleViewer, "")
	var ad *resolve.AccessDeniedError
	if !errors.As(err, &ad) || ad.Action != "kinesisvideo:GetIceServerConfig" {
		t.Fatalf("err = %v, want access denied naming kinesisvideo:GetIceServerConfig", err)
	}
	if !strings.Contains(err.Error(), "kinesisvideo:GetIceServerConfig") {
		t.Errorf("message %q does not name the action", err)
	}
}
