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
// TURN listen: loopback candidates included, IPv4 UDP only (TURN over TCP or TLS still works), other
// interfaces filtered out, no mDNS. Set it as a session's SettingEngine
// hook (or call it on your own SettingEngine) when everything runs on one
// machine. It gathers no server-reflexive candidates (they would equal the
// host ones) by an address rewrite rule; with ICETransportPolicyRelay pion
// refuses that rule: clear it (se.SetICEAddressRewriteRules()), as
// session's ForceTURN does.
func Loopback(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4}) // TURN over TCP and TLS needs no TCP type (pion/ice gather.go turnNetworkTypesForURL); ICE-TCP host candidates add pairs UDP already covers
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// No server-reflexive candidates: on loopback a STUN (or TURN/UDP) server
	// can only reflect the host address, and pion would gather one per URL,
	// each a socket checked against every remote candidate. A replace rule
	// for srflx pinned to an address no socket has (TEST-NET-1) makes pion
	// skip STUN gathering and map nothing (pion/ice gather.go
	// gatherCandidatesSrflxMapped).
	_ = se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: []string{"192.0.2.1"}, Local: "192.0.2.1",
		AsCandidateType: webrtc.ICECandidateTypeSrflx, Mode: webrtc.ICEAddressRewriteReplace})
}
