package signaling_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// emuTarget reaches an emulator that may be replaced mid-test (a restart on
// the same data dir): every call goes to the current one, through one HTTP
// client that trusts the CA, which the data dir keeps across restarts.
type emuTarget struct {
	cur  atomic.Pointer[emulator.Emulator]
	http *http.Client
	kv   *kinesisvideo.Client
}

func newEmuTarget(t *testing.T, e *emulator.Emulator) *emuTarget {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12}
	et := &emuTarget{http: &http.Client{Transport: tr}}
	et.cur.Store(e)
	c := e.Credential()
	et.kv = kinesisvideo.New(kinesisvideo.Options{
		Region:      e.Region(),
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		HTTPClient:  et.http,
	})
	// Keep goleak quiet: no keep-alive connection may outlive the test.
	t.Cleanup(tr.CloseIdleConnections)
	return et
}

// at points calls at the current emulator.
func (et *emuTarget) at(o *kinesisvideo.Options) { o.BaseEndpoint = aws.String(et.cur.Load().URL()) }

func (et *emuTarget) createChannel(t *testing.T, ctx context.Context, name string, ttlSeconds int32) string {
	t.Helper()
	in := &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)}
	if ttlSeconds > 0 {
		in.SingleMasterConfiguration = &types.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(ttlSeconds)}
	}
	out, err := et.kv.CreateSignalingChannel(ctx, in, et.at)
	if err != nil {
		t.Fatalf("create channel %s: %v", name, err)
	}
	return aws.ToString(out.ChannelARN)
}

// endpoint returns a signaling.Options.Endpoint that asks the current
// emulator for the role's WSS endpoint, picked by protocol (§2.2).
func (et *emuTarget) endpoint(arn string, role types.ChannelRole) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		out, err := et.kv.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &arn,
			SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
				Protocols: []types.ChannelProtocol{types.ChannelProtocolWss, types.ChannelProtocolHttps}, Role: role}}, et.at)
		if err != nil {
			return "", err
		}
		for _, ep := range out.ResourceEndpointList {
			if ep.Protocol == types.ChannelProtocolWss {
				return aws.ToString(ep.ResourceEndpoint), nil
			}
		}
		return "", errors.New("no WSS endpoint")
	}
}

// states collects a Client's state changes for a test to wait on.
type states chan signaling.StateChange

func newStates() states { return make(states, 256) }

func (s states) record(o *signaling.Options) {
	o.OnStateChange = func(sc signaling.StateChange) {
		select {
		case s <- sc:
		default: // a test that does not wait loses nothing it needs
		}
	}
}

// wait returns at the next report of want; it fails the test when ctx ends.
func (s states) wait(t *testing.T, ctx context.Context, who string, want signaling.State) signaling.StateChange {
	t.Helper()
	var seen []string
	for {
		select {
		case sc := <-s:
			if sc.State == want {
				return sc
			}
			seen = append(seen, sc.State.String())
		case <-ctx.Done():
			t.Fatalf("%s: no state %s (saw %v): %v", who, want, seen, ctx.Err())
		}
	}
}

// dialGo dials a Go client as role at the current emulator.
func (et *emuTarget) dialGo(t *testing.T, ctx context.Context, arn string, role channel.Role, clientID string, optFns ...func(*signaling.Options)) *signaling.Client {
	t.Helper()
	c := et.cur.Load().Credential()
	epRole := types.ChannelRoleMaster
	if role == channel.RoleViewer {
		epRole = types.ChannelRoleViewer
	}
	opts := signaling.Options{
		Role:        role,
		ChannelARN:  arn,
		ClientID:    clientID,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		Endpoint:    et.endpoint(arn, epRole),
		HTTPClient:  et.http,
	}
	cl, err := signaling.Dial(ctx, opts, optFns...)
	if err != nil {
		t.Fatalf("dial %s %s: %v", role, clientID, err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// next returns c's next message, which must be of type want; frames of the
// types in skip are passed over.
func next(t *testing.T, ctx context.Context, c *signaling.Client, want wire.MessageType, skip ...wire.MessageType) signaling.Message {
	t.Helper()
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				t.Fatalf("messages closed while waiting for %s", want)
			}
			if m.MessageType == want {
				return m
			}
			skipped := false
			for _, s := range skip {
				skipped = skipped || m.MessageType == s
			}
			if !skipped {
				t.Fatalf("got %s (from %q, status %+v), want %s", m.MessageType, m.SenderClientID, m.StatusResponse, want)
			}
		case <-ctx.Done():
			t.Fatalf("no %s: %v", want, ctx.Err())
		}
	}
}

// waitFor polls cond until it holds or ctx ends: for emulator state that
// has no notification (who is connected).
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		}
	}
}

func sdp(kind, id string) wire.SessionDescription {
	return wire.SessionDescription{Type: kind, SDP: "v=0\r\no=- " + id + " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
}

func candidate(port string) wire.ICECandidateInit {
	mid, idx := "0", uint16(0)
	return wire.ICECandidateInit{Candidate: "candidate:1 1 udp 2122260223 127.0.0.1 " + port + " typ host", SDPMid: &mid, SDPMLineIndex: &idx}
}
