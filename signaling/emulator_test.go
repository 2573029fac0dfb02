package signaling_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// A master and a viewer exchange offer, answer and candidates through the
// emulator's WSS relay, reached with endpoints from GetSignalingChannelEndpoint.
// It skips while the emulator does not yet upgrade WSS requests.
func TestEmulatorMasterViewer(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	cfg := emulatortest.Config(e)
	t.Cleanup(func() {
		if tr, ok := cfg.HTTPClient.(interface{ CloseIdleConnections() }); ok {
			tr.CloseIdleConnections()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv := kinesisvideo.NewFromConfig(cfg)
	created, err := kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("signaling-e2e")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.ChannelARN)
	endpoint := func(role types.ChannelRole) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			out, err := kv.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
				SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
					Protocols: []types.ChannelProtocol{types.ChannelProtocolWss, types.ChannelProtocolHttps}, Role: role}})
			if err != nil {
				return "", err
			}
			for _, ep := range out.ResourceEndpointList { // by protocol, never by index (§2.2)
				if ep.Protocol == types.ChannelProtocolWss {
					return aws.ToString(ep.ResourceEndpoint), nil
				}
			}
			return "", errors.New("no WSS endpoint")
		}
	}
	opts := signaling.Options{
		ChannelARN:  arn,
		Credentials: cfg.Credentials,
		HTTPClient:  emulatortest.HTTPClient(e),
	}
	master, err := signaling.Dial(ctx, opts, func(o *signaling.Options) {
		o.Role, o.Endpoint = channel.RoleMaster, endpoint(types.ChannelRoleMaster)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	viewer, err := signaling.Dial(ctx, opts, func(o *signaling.Options) {
		o.Role, o.ClientID, o.Endpoint = channel.RoleViewer, "viewer-e2e", endpoint(types.ChannelRoleViewer)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()

	next := func(c *signaling.Client, want wire.MessageType) signaling.Message {
		t.Helper()
		select {
		case m := <-c.Messages():
			if m.MessageType != want {
				t.Fatalf("got %s, want %s", m.MessageType, want)
			}
			return m
		case <-ctx.Done():
			t.Fatalf("no %s: %v", want, ctx.Err())
			return signaling.Message{}
		}
	}
	offer := wire.SessionDescription{Type: "offer", SDP: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
	if _, err := viewer.SendOffer(ctx, "", offer); err != nil {
		t.Fatal(err)
	}
	m := next(master, wire.MessageTypeSDPOffer)
	if sd, err := m.SessionDescription(); err != nil || sd != offer || m.SenderClientID != "viewer-e2e" {
		t.Fatalf("offer %+v from %q: %v", sd, m.SenderClientID, err)
	}
	answer := wire.SessionDescription{Type: "answer", SDP: "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
	if _, err := master.SendAnswer(ctx, m.SenderClientID, answer); err != nil {
		t.Fatal(err)
	}
	a := next(viewer, wire.MessageTypeSDPAnswer)
	if sd, _ := a.SessionDescription(); sd != answer || !a.FromMaster() {
		t.Fatalf("answer %+v from %q", sd, a.SenderClientID)
	}
	cand := wire.ICECandidateInit{Candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"}
	if _, err := master.SendICECandidate(ctx, "viewer-e2e", cand); err != nil {
		t.Fatal(err)
	}
	if c, err := next(viewer, wire.MessageTypeICECandidate).ICECandidate(); err != nil || c.Candidate != cand.Candidate {
		t.Fatalf("candidate %+v: %v", c, err)
	}
	if _, err := viewer.SendICECandidate(ctx, "", cand); err != nil {
		t.Fatal(err)
	}
	next(master, wire.MessageTypeICECandidate)
}
