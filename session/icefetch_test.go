package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// stallICE is a fault injector in front of the master's HTTP client:
// while on, GetIceServerConfig calls hang until their context ends.
type stallICE struct {
	next     http.RoundTripper
	on       atomic.Bool
	inFlight atomic.Int64
}

func (s *stallICE) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.on.Load() && strings.HasSuffix(r.URL.Path, "/get-ice-server-config") {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return s.next.RoundTrip(r)
}

// A master whose ICE servers expired fetches them again before answering
// the next viewer; while that fetch hangs (up to 5 s), the signaling loop
// goes on with everyone else's messages. Viewer B is driven by hand: it
// answered before the expiry, ignores the master's candidates and sends its
// own only now, so ICE comes up only when the master's loop applies them.
// It must come up while viewer A's fetch is still hanging (it used to wait
// for the fetch to give up).
func TestSlowICEFetchHoldsNoOneElse(t *testing.T) {
	v := newEnv(t, "slowice")
	stall := &stallICE{next: emulatortest.HTTPClient(v.e).Transport}
	var clockMu sync.Mutex
	shift := time.Duration(0)
	now := func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		return time.Now().Add(shift)
	}
	cfg := v.cfg.Copy()
	cfg.HTTPClient = &http.Client{Transport: stall}
	m := liveMaster(t, v, func(o *session.MasterOptions) {
		o.Resolver = resolve.New(cfg, resolve.Options{STUNURL: v.e.STUNURL(), Now: now})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Viewer B, by hand: offer without candidates, answer applied without
	// the master's.
	se := webrtc.SettingEngine{}
	loopback(&se)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	connected := make(chan int64, 1) // A's fetches in flight when B came up
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			select {
			case connected <- stall.inFlight.Load():
			default:
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("viewer B's candidates not gathered")
	}
	r := v.options().Resolver
	ep, err := r.Endpoints(ctx, v.arn, channel.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signaling.Dial(ctx, signaling.Options{Role: channel.RoleViewer, ChannelARN: v.arn.String(), ClientID: "viewer-b",
		Credentials: v.cfg.Credentials, HTTPClient: v.options().HTTPClient, Clock: r.Clock(),
		Endpoint: func(context.Context) (string, error) { return ep.WSS, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer sig.Close()
	if _, err := sig.SendOffer(ctx, "", wire.SessionDescription{Type: "offer", SDP: withoutCandidates(pc.LocalDescription().SDP)}); err != nil {
		t.Fatal(err)
	}
	for answered := false; !answered; {
		select {
		case msg := <-sig.Messages():
			if msg.MessageType == wire.MessageTypeSDPAnswer {
				sd, err := msg.SessionDescription()
				if err != nil {
					t.Fatal(err)
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: withoutCandidates(sd.SDP)}); err != nil {
					t.Fatal(err)
				}
				answered = true
			}
		case <-ctx.Done():
			t.Fatal("viewer B: no answer")
		}
	}

	// The master's ICE servers expire, and fetching them hangs.
	clockMu.Lock()
	shift = 2 * time.Hour
	clockMu.Unlock()
	stall.on.Store(true)
	// Viewer A offers: the master needs ICE servers for it.
	a, err := session.NewViewer(session.ViewerOptions{Options: v.options(), ClientID: "viewer-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	aDone := make(chan error, 1)
	go func() { aDone <- a.Run(ctx) }()
	waitFor(t, 20*time.Second, "the master fetching ICE servers for viewer A", func() bool { return stall.inFlight.Load() > 0 })

	// Now B's candidates: only the master's loop can bring B up.
	for _, c := range candidatesOf(pc.LocalDescription().SDP) {
		if _, err := sig.SendICECandidate(ctx, "", c); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-connected:
		if n == 0 {
			t.Error("viewer B came up only once viewer A's ICE server fetch had given up: the fetch held the master's signaling loop")
		}
	case <-ctx.Done():
		t.Fatal("viewer B never came up")
	}
	// A is answered too, with the old servers once the fetch gives up.
	waitFor(t, 30*time.Second, "viewer A connected", func() bool { return a.Timeline().Has(session.StepDTLSConnected) })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("viewer A: %v", err)
	}
	_ = m
}

// candidatesOf reads the a=candidate lines of an SDP as trickle candidates
// of its first m-line (bundled).
func candidatesOf(sdp string) []wire.ICECandidateInit {
	var out []wire.ICECandidateInit
	mid, idx := "0", uint16(0)
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "a=candidate:") {
			out = append(out, wire.ICECandidateInit{Candidate: strings.TrimPrefix(l, "a="), SDPMid: &mid, SDPMLineIndex: &idx})
		}
	}
	return out
}
