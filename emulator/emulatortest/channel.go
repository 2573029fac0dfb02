package emulatortest

import (
	"context"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
)

// Channel creates a signaling channel on the emulator and returns its ARN.
// It fails the test on error.
func Channel(t testing.TB, e *emulator.Emulator, name string) channel.ARN {
	t.Helper()
	arn, err := CreateChannel(context.Background(), e, name)
	if err != nil {
		t.Fatalf("create channel %s: %v", name, err)
	}
	return arn
}

// CreateChannel creates a signaling channel on the emulator and returns its
// ARN, for programs that are not tests.
func CreateChannel(ctx context.Context, e *emulator.Emulator, name string) (channel.ARN, error) {
	out, err := kinesisvideo.NewFromConfig(Config(e)).CreateSignalingChannel(ctx,
		&kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)})
	if err != nil {
		return channel.ARN{}, err
	}
	return channel.ParseARN(aws.ToString(out.ChannelARN))
}

// Loopback keeps pion's ICE on 127.0.0.1, where the emulator's STUN and
// TURN listen: loopback candidates included, IPv4 UDP and TCP only, other
// interfaces filtered out, no mDNS. Set it as a session's SettingEngine
// hook (or call it on your own SettingEngine) when everything runs on one
// machine.
func Loopback(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}
