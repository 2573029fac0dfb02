package session_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// loopback keeps ICE on 127.0.0.1 (shared/deps.md §5): loopback candidates,
// IPv4 UDP (TURN over TCP or TLS still works), no mDNS.
func loopback(se *webrtc.SettingEngine) {
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

// env is an emulator with a channel and what a session needs to reach it.
type env struct {
	e   *emulator.Emulator
	cfg aws.Config
	arn channel.ARN
	// tweak, if set, changes every options() result (benchmark variants).
	tweak func(*session.Options)
}

func newEnv(t testing.TB, name string) *env { return newEnvWith(t, name, emulator.Options{}) }

// unlimited lifts the signaling quotas (connects per second per channel, SDP
// and ICE messages per second per connection) for benchmarks that connect
// viewers back to back.
var unlimited = emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: -1, ICEPerSecond: -1}}

func newEnvWith(t testing.TB, name string, opts emulator.Options) *env {
	t.Helper()
	e := emulatortest.Start(t, opts)
	cfg := emulatortest.Config(e)
	out, err := kinesisvideo.NewFromConfig(cfg).CreateSignalingChannel(context.Background(),
		&kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := channel.ParseARN(aws.ToString(out.ChannelARN))
	if err != nil {
		t.Fatal(err)
	}
	return &env{e: e, cfg: cfg, arn: arn}
}

// options are session options for the emulator; each call has its own
// resolver (a cold cache).
func (v *env) options() session.Options {
	r := resolve.New(v.cfg, resolve.Options{STUNURL: "stun:" + v.e.TURN().UDPAddr().String()})
	o := session.Options{
		ChannelARN:    v.arn,
		Resolver:      r,
		Credentials:   v.cfg.Credentials,
		HTTPClient:    emulatortest.HTTPClient(v.e),
		SettingEngine: loopback,
	}
	if v.tweak != nil {
		v.tweak(&o)
	}
	return o
}

// waitFor polls cond every 5 ms until it holds, failing after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
