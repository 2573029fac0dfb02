package emulator_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// BenchmarkGetSignalingChannelEndpoint: the real SDK client against the
// in-process emulator over TLS on loopback (keep-alive connections).
func BenchmarkGetSignalingChannelEndpoint(b *testing.B) {
	e := emulatortest.Start(b, emulator.Options{})
	c := newClient(e)
	out, err := c.CreateSignalingChannel(context.Background(), &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	in := &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: out.ChannelARN,
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolWss, types.ChannelProtocolHttps}, Role: types.ChannelRoleViewer}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetSignalingChannelEndpoint(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkStartToFirstRequest: in-process start (data dir already holding
// the CA) until the first request is served, then stop.
func BenchmarkStartToFirstRequest(b *testing.B) {
	dir := b.TempDir()
	warm, err := emulator.Start(context.Background(), emulator.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	warm.Close()
	b.ReportAllocs()
	for b.Loop() {
		e, err := emulator.Start(context.Background(), emulator.Options{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := newClient(e).ListSignalingChannels(context.Background(), &kinesisvideo.ListSignalingChannelsInput{}); err != nil {
			b.Fatal(err)
		}
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartInMemory: start and stop with no data dir (a fresh CA in a
// temporary dir each time: the cost of emulatortest.Start in a test).
func BenchmarkStartInMemory(b *testing.B) {
	for b.Loop() {
		e, err := emulator.Start(context.Background(), emulator.Options{})
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}
