package session_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// handViewer is a viewer driven by hand in a test: a raw signaling client
// and a pion PeerConnection the test sets up as another stack would (aiortc,
// a C SDK sample viewer, a VP8-only client).
type handViewer struct {
	t       testing.TB
	pc      *webrtc.PeerConnection
	sig     *signaling.Client
	answer  string
	packets map[string]*atomic.Int64 // by kind
	wg      sync.WaitGroup
}

// connectHandViewer offers pc's transceivers (added by the caller) with
// complete SDP as client id, applies the master's answer and its trickled
// candidates, and counts the RTP packets of each track kind.
func connectHandViewer(t testing.TB, ctx context.Context, v *env, id string, pc *webrtc.PeerConnection) *handViewer {
	t.Helper()
	h := &handViewer{t: t, pc: pc, packets: map[string]*atomic.Int64{"video": {}, "audio": {}}}
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := h.packets[track.Kind().String()]
		h.wg.Add(1)
		go func() { // ends when pc closes
			defer h.wg.Done()
			for {
				if _, _, err := track.ReadRTP(); err != nil {
					return
				}
				n.Add(1)
			}
		}()
	})
	o := v.options()
	ep, err := o.Resolver.Endpoints(ctx, v.arn, channel.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	h.sig, err = signaling.Dial(ctx, signaling.Options{Role: channel.RoleViewer, ChannelARN: v.arn.String(), ClientID: id,
		Credentials: v.cfg.Credentials, HTTPClient: o.HTTPClient, Clock: o.Resolver.Clock(),
		Endpoint: func(context.Context) (string, error) { return ep.WSS, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pc.Close()
		h.sig.Close()
		h.wg.Wait()
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
	if _, err := h.sig.SendOffer(ctx, "", wire.SessionDescription{Type: "offer", SDP: pc.LocalDescription().SDP}); err != nil {
		t.Fatal(err)
	}
	var pending []webrtc.ICECandidateInit
	for h.answer == "" {
		select {
		case msg := <-h.sig.Messages():
			switch msg.MessageType {
			case wire.MessageTypeSDPAnswer:
				sd, err := msg.SessionDescription()
				if err != nil {
					t.Fatal(err)
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.SDP}); err != nil {
					t.Fatalf("apply answer: %v\n%s", err, sd.SDP)
				}
				h.answer = sd.SDP
			case wire.MessageTypeICECandidate:
				if c, err := msg.ICECandidate(); err == nil && c.Candidate != "" {
					pending = append(pending, webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
				}
			}
		case <-ctx.Done():
			t.Fatal("no answer")
		}
	}
	for _, c := range pending {
		_ = pc.AddICECandidate(c)
	}
	h.wg.Add(1)
	go func() { // ends when the signaling client closes (at cleanup)
		defer h.wg.Done()
		for msg := range h.sig.Messages() {
			if msg.MessageType != wire.MessageTypeICECandidate {
				continue
			}
			if c, err := msg.ICECandidate(); err == nil && c.Candidate != "" {
				_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
			}
		}
	}()
	return h
}

// recvonly adds a receive-only transceiver of each kind to pc.
func recvonly(t testing.TB, pc *webrtc.PeerConnection, kinds ...webrtc.RTPCodecType) {
	t.Helper()
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
}
