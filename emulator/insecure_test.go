package emulator_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// --insecure-http: plain HTTP and ws:// endpoints, no CA bundle in the env.
func TestInsecureHTTP(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{InsecureHTTP: true})
	if !strings.HasPrefix(e.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", e.URL())
	}
	for _, kv := range e.Env() {
		if strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			t.Fatalf("env names a CA bundle over plain HTTP: %s", kv)
		}
	}
	cfg := emulatortest.Config(e)
	cfg.HTTPClient = &http.Client{}
	c := kinesisvideo.NewFromConfig(cfg)
	arn := createChannel(t, c, "plain")
	g, err := c.GetSignalingChannelEndpoint(context.Background(), &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolHttps, types.ChannelProtocolWss}, Role: types.ChannelRoleViewer}})
	if err != nil {
		t.Fatal(err)
	}
	if h, w := aws.ToString(g.ResourceEndpointList[0].ResourceEndpoint), aws.ToString(g.ResourceEndpointList[1].ResourceEndpoint); !strings.HasPrefix(h, "http://") || !strings.HasPrefix(w, "ws://") {
		t.Fatalf("endpoints %q %q", h, w)
	}
}
