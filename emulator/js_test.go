package emulator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/internal/jsrun"
)

func jsEnv(e *emulator.Emulator, endpoint string, c emulator.Credential) jsrun.Env {
	return jsrun.Env{Endpoint: endpoint, Region: e.Region(), AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, CABundle: e.CABundlePath()}
}

// The unmodified AWS JS SDK v3 clients (npm, pinned) against the emulator:
// the control plane, and the data plane that has no Go client here.
func TestAWSJavaScriptSDK(t *testing.T) {
	if err := jsrun.Check(); err != nil {
		t.Fatal(err)
	}
	denied := emulator.Credential{AccessKeyID: "AKIDNOICE", SecretAccessKey: "no-ice-secret", Actions: []string{"kinesisvideo:GetSignalingChannelEndpoint"}}
	e := emulatortest.Start(t, emulator.Options{Region: "cn-north-1", Credentials: []emulator.Credential{emulator.DevCredential, denied}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := jsEnv(e, e.URL(), e.Credential())
	call := func(client, op string, in any) *jsrun.Result {
		t.Helper()
		r, err := jsrun.Call(ctx, env, client, op, in)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}
	r := call(jsrun.KinesisVideo, "CreateSignalingChannel", map[string]any{"ChannelName": "js-channel"})
	var created struct{ ChannelARN string }
	if !r.OK || r.Decode(&created) != nil || !strings.HasPrefix(created.ChannelARN, "arn:aws-cn:kinesisvideo:cn-north-1:") {
		t.Fatalf("create: %+v", r)
	}
	arn := created.ChannelARN
	r = call(jsrun.KinesisVideo, "DescribeSignalingChannel", map[string]any{"ChannelARN": arn})
	var described struct {
		ChannelInfo struct {
			ChannelName  string
			CreationTime string
		}
	}
	if !r.OK || r.Decode(&described) != nil || described.ChannelInfo.ChannelName != "js-channel" || !strings.HasPrefix(described.ChannelInfo.CreationTime, "20") {
		t.Fatalf("describe: %+v", r)
	}
	r = call(jsrun.KinesisVideo, "ListSignalingChannels", map[string]any{})
	if !r.OK || !strings.Contains(string(r.Output), "js-channel") {
		t.Fatalf("list: %+v", r)
	}
	r = call(jsrun.KinesisVideo, "GetSignalingChannelEndpoint", map[string]any{"ChannelARN": arn,
		"SingleMasterChannelEndpointConfiguration": map[string]any{"Protocols": []string{"WSS", "HTTPS"}, "Role": "VIEWER"}})
	var eps struct {
		ResourceEndpointList []struct{ Protocol, ResourceEndpoint string }
	}
	if !r.OK || r.Decode(&eps) != nil || len(eps.ResourceEndpointList) != 2 {
		t.Fatalf("get endpoint: %+v", r)
	}
	https := ""
	for _, ep := range eps.ResourceEndpointList {
		if ep.Protocol == "HTTPS" {
			https = ep.ResourceEndpoint
		}
	}

	// Data plane on the HTTPS resource endpoint, as the JS examples call it
	// (§3.1: only ChannelARN).
	sig := jsEnv(e, https, e.Credential())
	r, err := jsrun.Call(ctx, sig, jsrun.Signaling, "GetIceServerConfig", map[string]any{"ChannelARN": arn})
	var ice struct {
		IceServerList []struct {
			Uris               []string
			Username, Password string
			Ttl                int
		}
	}
	if err != nil || !r.OK || r.Decode(&ice) != nil || len(ice.IceServerList) != 2 || ice.IceServerList[0].Ttl != 300 {
		t.Fatalf("GetIceServerConfig: %v %+v", err, r)
	}
	if err := allocate(t, ice.IceServerList[0].Uris[0], ice.IceServerList[0].Username, ice.IceServerList[0].Password); err != nil {
		t.Fatalf("TURN allocation with the JS SDK's credentials: %v", err)
	}

	// Typed errors in the JS SDK too.
	errCases := []struct {
		name string
		env  jsrun.Env
		in   map[string]any
		want string
	}{
		{"unknown channel", sig, map[string]any{"ChannelARN": strings.Replace(arn, "js-channel", "nope", 1)}, "ResourceNotFoundException"},
		{"bad client id", sig, map[string]any{"ChannelARN": arn, "ClientId": "a b"}, "InvalidArgumentException"},
		{"not authorized", jsEnv(e, https, denied), map[string]any{"ChannelARN": arn}, "NotAuthorizedException"},
		{"forged signature", jsEnv(e, https, emulator.Credential{AccessKeyID: e.Credential().AccessKeyID, SecretAccessKey: "forged"}), map[string]any{"ChannelARN": arn}, "InvalidSignatureException"},
		{"control-plane host", env, map[string]any{"ChannelARN": arn}, "UnknownOperationException"},
	}
	for _, tc := range errCases {
		r, err := jsrun.Call(ctx, tc.env, jsrun.Signaling, "GetIceServerConfig", tc.in)
		if err != nil || r.OK || r.Name != tc.want {
			t.Errorf("%s: want %s, got %v %+v", tc.name, tc.want, err, r)
		}
	}
	if r, _ := jsrun.Call(ctx, jsEnv(e, https, denied), jsrun.Signaling, "GetIceServerConfig", map[string]any{"ChannelARN": arn}); r != nil && !strings.Contains(r.Message, "kinesisvideo:GetIceServerConfig") {
		t.Errorf("denial does not name the action: %q", r.Message)
	}
	// The Go SDK sees the same channel.
	if _, err := newClient(e).DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
}
