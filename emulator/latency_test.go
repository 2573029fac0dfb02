package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// With Latency, a GetSignalingChannelEndpoint over a fresh TLS connection
// pays the TLS handshake's round trip and the request's (TCP's cannot be
// delayed): at least 2 RTT, counted in delayed reads and writes; a relayed
// frame and its answer cross four delayed links. The bounds are lower
// bounds: a loaded machine only makes them easier to meet.
func TestLatency(t *testing.T) {
	const lat = 50 * time.Millisecond
	f := newWSSFixture(t, emulator.Options{Latency: lat, Limits: emulator.Limits{ConnectsPerSecond: -1}})

	c := kinesisvideo.NewFromConfig(emulatortest.Config(f.e)) // its own transport: a fresh TLS connection
	before := f.e.LatencyStats()
	start := time.Now()
	if _, err := c.GetSignalingChannelEndpoint(context.Background(), &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: &f.arn,
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolWss}, Role: types.ChannelRoleMaster}}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	after := f.e.LatencyStats()
	reads, writes := after.Reads-before.Reads, after.Writes-before.Writes
	if reads < 2 || writes < 2 {
		t.Fatalf("GetSignalingChannelEndpoint on a fresh connection: %d delayed reads and %d writes, want ≥ 2 each (ClientHello, request; server flight, response)", reads, writes)
	}
	if elapsed < 4*lat {
		t.Fatalf("GetSignalingChannelEndpoint took %v, want ≥ 2 RTT (%v)", elapsed, 4*lat)
	}
	t.Logf("GetSignalingChannelEndpoint on a fresh TLS connection: %v = %.1f RTT, %d delayed reads, %d writes", elapsed, elapsed.Seconds()/(2*lat.Seconds()), reads, writes)

	master := f.connectReady(t, "")
	viewer := f.connectReady(t, "v1")
	start = time.Now()
	write(t, viewer, offer("eA=="))
	if got := read(t, master); got.MessageType != "SDP_OFFER" {
		t.Fatalf("master got %+v", got)
	}
	write(t, master, `{"action":"SDP_ANSWER","recipientClientId":"v1","messagePayload":"eQ=="}`)
	if got := read(t, viewer); got.MessageType != "SDP_ANSWER" {
		t.Fatalf("viewer got %+v", got)
	}
	if rt := time.Since(start); rt < 4*lat {
		t.Fatalf("relay round trip (offer, answer) took %v, want ≥ 4 × %v (two links each way)", rt, lat)
	} else {
		t.Logf("relay round trip: %v", rt)
	}
}

// With Latency, a TURN allocation (an unauthenticated request, its 401,
// the authenticated one and its answer) costs at least 2 RTT, and the
// packets are counted.
func TestLatencyTURN(t *testing.T) {
	const lat = 50 * time.Millisecond
	e := emulatortest.Start(t, emulator.Options{Latency: lat})
	arn := createChannel(t, newClient(e), "turn-latency")
	servers := getIceServers(t, e, arn)
	before := e.LatencyStats()
	start := time.Now()
	if err := allocate(t, servers[0].Uris[0], servers[0].Username, servers[0].Password); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if sent := e.LatencyStats().Packets - before.Packets; sent < 2 {
		t.Fatalf("%d delayed TURN packets for an allocation, want ≥ 2", sent)
	}
	if elapsed < 4*lat {
		t.Fatalf("TURN allocation took %v, want ≥ 2 RTT (%v)", elapsed, 4*lat)
	}
	t.Logf("TURN allocation: %v = %.1f RTT", elapsed, elapsed.Seconds()/(2*lat.Seconds()))
}
