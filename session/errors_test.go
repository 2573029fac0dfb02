package session_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// viewerErr runs a viewer with o until it ends and returns Run's error.
func viewerErr(t *testing.T, o session.ViewerOptions) error {
	t.Helper()
	vw, err := session.NewViewer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return vw.Run(ctx)
}

// TestNoAnswerError: with no master on the channel the viewer's error is a
// PeerError of the answer phase that names the channel and asks whether a
// master is connected; it is ErrNoAnswer, not ErrPeerFailed.
func TestNoAnswerError(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := emulatortest.Channel(t, e, "lonely")
	err := viewerErr(t, session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: "v1", AnswerTimeout: time.Second})
	var pe *session.PeerError
	if !errors.As(err, &pe) || pe.Phase != session.PhaseAnswer || pe.ClientID != "v1" || pe.Channel != "lonely" {
		t.Fatalf("error %v (%T), want a PeerError of the answer phase", err, err)
	}
	if !errors.Is(err, session.ErrNoAnswer) || errors.Is(err, session.ErrPeerFailed) {
		t.Errorf("errors.Is: ErrNoAnswer %v, ErrPeerFailed %v; want true, false", errors.Is(err, session.ErrNoAnswer), errors.Is(err, session.ErrPeerFailed))
	}
	for _, want := range []string{"channel lonely", "is a master connected?", "within 1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// TestICEFailureError: a viewer that can only use IPv6 meets a master that
// can only use IPv4; ICE fails and the viewer's error says so: a PeerError
// of the ICE phase, ErrPeerFailed.
func TestICEFailureError(t *testing.T) {
	v := newEnv(t, "noice")
	liveMaster(t, v)
	o := session.ViewerOptions{Options: v.options(), ClientID: "v6"}
	o.SettingEngine = func(se *webrtc.SettingEngine) {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP6})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		se.SetICETimeouts(500*time.Millisecond, time.Second, 200*time.Millisecond)
	}
	err := viewerErr(t, o)
	var pe *session.PeerError
	if !errors.As(err, &pe) || pe.Phase != session.PhaseICE || pe.Role != channel.RoleViewer {
		t.Fatalf("error %v (%T), want a viewer's PeerError of the ICE phase", err, err)
	}
	if !errors.Is(err, session.ErrPeerFailed) {
		t.Errorf("%v is not ErrPeerFailed", err)
	}
	if !strings.Contains(err.Error(), "failed in ICE") || !strings.Contains(err.Error(), "channel noice") {
		t.Errorf("%q does not say ICE failed on channel noice", err)
	}
	t.Logf("%v (%d pairs)", err, len(pe.Pairs))
}

// TestSignalingErrorHints: one prefix for the signaling layer, the channel
// and role named, and the fix: a CA the client does not trust, a
// credential without ConnectAsViewer.
func TestSignalingErrorHints(t *testing.T) {
	t.Run("untrusted CA", func(t *testing.T) {
		e := emulatortest.Start(t, emulator.Options{})
		arn := emulatortest.Channel(t, e, "ca")
		o := sessiontest.Options(e, arn)
		o.HTTPClient = nil // http.DefaultClient: the system roots only
		err := viewerErr(t, session.ViewerOptions{Options: o, ClientID: "v1"})
		var de *signaling.DialError
		if !errors.As(err, &de) {
			t.Fatalf("error %v (%T), want a signaling.DialError", err, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "signaling: connect to channel ca as viewer v1: ") || strings.Count(msg, "signaling") > 1+strings.Count(msg, "X-Amz") {
			t.Errorf("%q: want one signaling prefix naming the channel and role", msg)
		}
		t.Log(msg)
		if !strings.Contains(msg, "HTTPClient") || !strings.Contains(msg, "AWS_CA_BUNDLE") {
			t.Errorf("%q: no hint about the CA", msg)
		}
	})
	t.Run("no ConnectAsViewer", func(t *testing.T) {
		c := emulator.DevCredential
		c.Actions = []string{"kinesisvideo:CreateSignalingChannel", "kinesisvideo:DescribeSignalingChannel",
			"kinesisvideo:GetSignalingChannelEndpoint", "kinesisvideo:GetIceServerConfig"}
		e := emulatortest.Start(t, emulator.Options{Credentials: []emulator.Credential{c}})
		arn := emulatortest.Channel(t, e, "perm")
		err := viewerErr(t, session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: "v1"})
		t.Log(err)
		if signaling.StatusCode(err) != 403 || !strings.Contains(err.Error(), "allows kinesisvideo:ConnectAsViewer") {
			t.Errorf("error %v: want a 403 naming kinesisvideo:ConnectAsViewer", err)
		}
	})
}
