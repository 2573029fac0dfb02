package session_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// withoutCandidates drops the candidate lines of an SDP, so the other side
// learns candidates only from what is trickled.
func withoutCandidates(sdp string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(sdp, "\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestMasterKeepsEarlyCandidates drives a viewer by hand (a pion
// PeerConnection and a raw signaling client) that sends every ICE candidate
// before its SDP_OFFER, and an offer without candidates. The viewer ignores
// the master's candidates (trickled or in the answer), so it has none: the
// connection can only come up if the master checks the viewer's candidates,
// which reached it before the offer. The viewer then knows the master only
// as a peer-reflexive candidate, which the test checks, with media and the
// data channel flowing.
func TestMasterKeepsEarlyCandidates(t *testing.T) {
	v := newEnv(t, "early")
	m := liveMaster(t, v)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

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
	var readers sync.WaitGroup
	defer readers.Wait()
	defer pc.Close()
	var packets atomic.Int64
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		go func() { // ends when pc closes
			defer readers.Done()
			for {
				if _, _, err := track.ReadRTP(); err != nil {
					return
				}
				packets.Add(1)
			}
		}()
	})
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	dc, err := pc.CreateDataChannel(session.DataChannelLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	dcOpen := make(chan struct{})
	dc.OnOpen(func() { close(dcOpen) })
	var candMu sync.Mutex
	var cands []webrtc.ICECandidateInit
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			candMu.Lock()
			cands = append(cands, c.ToJSON())
			candMu.Unlock()
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
		t.Fatal("viewer's candidates not gathered")
	}
	candMu.Lock()
	early := cands
	candMu.Unlock()
	if len(early) == 0 {
		t.Fatal("viewer gathered no candidates")
	}

	r := v.options().Resolver
	ep, err := r.Endpoints(ctx, v.arn, channel.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signaling.Dial(ctx, signaling.Options{Role: channel.RoleViewer, ChannelARN: v.arn.String(), ClientID: "early-bird",
		Credentials: v.cfg.Credentials, HTTPClient: v.options().HTTPClient, Clock: r.Clock(),
		Endpoint: func(context.Context) (string, error) { return ep.WSS, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer sig.Close()
	for _, c := range early {
		w := wire.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
		if _, err := sig.SendICECandidate(ctx, "", w); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sig.SendOffer(ctx, "", wire.SessionDescription{Type: "offer", SDP: withoutCandidates(offer.SDP)}); err != nil {
		t.Fatal(err)
	}
	for answered := false; !answered; {
		select {
		case msg := <-sig.Messages():
			switch msg.MessageType {
			case wire.MessageTypeSDPAnswer:
				sd, err := msg.SessionDescription()
				if err != nil {
					t.Fatal(err)
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: withoutCandidates(sd.SDP)}); err != nil {
					t.Fatal(err)
				}
				answered = true
			case wire.MessageTypeICECandidate:
				// the master's candidates: never given to pc
			}
		case <-ctx.Done():
			t.Fatal("no answer")
		}
	}
	select {
	case <-dcOpen:
	case <-ctx.Done():
		t.Fatalf("data channel not open: ICE %s, connection %s", pc.ICEConnectionState(), pc.ConnectionState())
	}
	waitFor(t, 10*time.Second, "media", func() bool { return packets.Load() >= 50 })

	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeHost || pair.Remote.Typ != webrtc.ICECandidateTypePrflx {
		t.Errorf("selected pair %s → %s, want the viewer's host candidate and the master as prflx (known only by its checks)",
			pair.Local.Typ, pair.Remote.Typ)
	}
	waitFor(t, 5*time.Second, "master's peer", func() bool { return m.Stats().Viewers == 1 })
	t.Logf("%d early candidates sent; %d packets; pair %s", len(early), packets.Load(), pair)
}
