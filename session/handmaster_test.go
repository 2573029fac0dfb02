package session_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// handMaster is a master driven by hand in a test: a raw signaling client
// in the master role and a pion PeerConnection the test sets up as another
// stack would (a C SDK sample master, Chromium with a codec filter).
type handMaster struct {
	t   *testing.T
	sig *signaling.Client
	pc  *webrtc.PeerConnection
	wg  sync.WaitGroup
}

// dialHandMaster connects to the channel as its master.
func dialHandMaster(t *testing.T, ctx context.Context, v *env) *handMaster {
	t.Helper()
	o := v.options()
	ep, err := o.Resolver.Endpoints(ctx, v.arn, channel.RoleMaster)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signaling.Dial(ctx, signaling.Options{Role: channel.RoleMaster, ChannelARN: v.arn.String(),
		Credentials: v.cfg.Credentials, HTTPClient: o.HTTPClient, Clock: o.Resolver.Clock(),
		Endpoint: func(context.Context) (string, error) { return ep.WSS, nil }})
	if err != nil {
		t.Fatal(err)
	}
	h := &handMaster{t: t, sig: sig}
	t.Cleanup(h.close)
	return h
}

func (h *handMaster) close() {
	if h.pc != nil {
		_ = h.pc.Close()
	}
	h.sig.Close()
	h.wg.Wait()
}

// offer waits for a viewer's SDP offer; the candidates that came with it
// are returned too.
func (h *handMaster) offer(ctx context.Context) (from string, sd wire.SessionDescription, cands []wire.ICECandidateInit) {
	h.t.Helper()
	for {
		select {
		case msg, ok := <-h.sig.Messages():
			if !ok {
				h.t.Fatal("signaling closed before an offer")
			}
			switch msg.MessageType {
			case wire.MessageTypeSDPOffer:
				sd, err := msg.SessionDescription()
				if err != nil {
					h.t.Fatal(err)
				}
				return msg.SenderClientID, sd, cands
			case wire.MessageTypeICECandidate:
				if c, err := msg.ICECandidate(); err == nil {
					cands = append(cands, c)
				}
			}
		case <-ctx.Done():
			h.t.Fatal("no offer from the viewer")
		}
	}
}

// answer applies the offer to pc, answers with complete SDP (rewritten by
// edit, if set) and feeds the viewer's trickled candidates to pc until the
// test ends.
func (h *handMaster) answer(ctx context.Context, pc *webrtc.PeerConnection, to string, offer wire.SessionDescription,
	early []wire.ICECandidateInit, edit func(string) string) {
	h.t.Helper()
	h.pc = pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		h.t.Fatal(err)
	}
	add := func(c wire.ICECandidateInit) {
		if c.Candidate != "" {
			_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
		}
	}
	for _, c := range early {
		add(c)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		h.t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		h.t.Fatal("master's candidates not gathered")
	}
	s := pc.LocalDescription().SDP
	if edit != nil {
		s = edit(s)
	}
	if _, err := h.sig.SendAnswer(ctx, to, wire.SessionDescription{Type: "answer", SDP: s}); err != nil {
		h.t.Fatal(err)
	}
	h.wg.Add(1)
	go func() { // ends when the signaling client closes (close, at cleanup)
		defer h.wg.Done()
		for msg := range h.sig.Messages() {
			if msg.MessageType == wire.MessageTypeICECandidate {
				if c, err := msg.ICECandidate(); err == nil {
					add(c)
				}
			}
		}
	}()
}

// newHandPC is a pion PeerConnection on loopback with only the codecs
// given registered (none: pion's defaults).
func newHandPC(t *testing.T, codecs ...webrtc.RTPCodecParameters) *webrtc.PeerConnection {
	t.Helper()
	se := webrtc.SettingEngine{}
	loopback(&se)
	me := &webrtc.MediaEngine{}
	if len(codecs) == 0 {
		if err := me.RegisterDefaultCodecs(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range codecs {
		kind := webrtc.RTPCodecTypeVideo
		if strings.HasPrefix(c.MimeType, "audio/") {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := me.RegisterCodec(c, kind); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// sendClip writes the demo clip of codec c to track in real time, once it
// is connected, until ctx ends or the clip does. Samples written before
// then are dropped (the track is not bound yet): a clip started at once
// could play its last keyframe out before a slow connection is up, and the
// viewer would get no whole frame (this master ignores PLI).
func (h *handMaster) sendClip(ctx context.Context, track *webrtc.TrackLocalStaticSample, c media.Codec) {
	connected := make(chan struct{})
	var once sync.Once
	up := func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	}
	h.pc.OnConnectionStateChange(up)
	up(h.pc.ConnectionState()) // connected before the callback was set
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		select {
		case <-connected:
		case <-ctx.Done():
			return
		}
		var r media.FrameReader
		var err error
		switch c {
		case media.CodecVP8:
			r, err = media.NewIVFReader(media.DemoVP8())
		default:
			r, err = media.NewAnnexBReader(media.DemoH264(), 30)
		}
		if err != nil {
			h.t.Error(err)
			return
		}
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for {
			f, err := r.ReadFrame()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				h.t.Error(err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := track.WriteSample(pmedia.Sample{Data: f.Data, Duration: time.Second / 30}); err != nil {
				return
			}
		}
	}()
}

// canTrickle is the C SDK's test of a remote description
// (setRemoteDescription, src/source/PeerConnection/PeerConnection.c): an
// ice-options attribute containing "trickle", at session level or in any
// m-section (v1.7 and earlier read the session level only, and compared
// the whole value with "trickle").
func canTrickle(s string) (session, anywhere bool) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return false, false
	}
	for _, a := range d.Attributes {
		if a.Key == "ice-options" && strings.Contains(a.Value, "trickle") {
			session = a.Value == "trickle"
			anywhere = true
		}
	}
	for _, md := range d.MediaDescriptions {
		for _, a := range md.Attributes {
			if a.Key == "ice-options" && strings.Contains(a.Value, "trickle") {
				anywhere = true
			}
		}
	}
	return session, anywhere
}

// firstFormat is the rtpmap name of the first format of the first m-line
// of kind.
func firstFormat(s, kind string) string {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return ""
	}
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media != kind || len(md.MediaName.Formats) == 0 {
			continue
		}
		pt := md.MediaName.Formats[0]
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" && strings.HasPrefix(a.Value, pt+" ") {
				name, _, _ := strings.Cut(strings.TrimPrefix(a.Value, pt+" "), "/")
				return name
			}
		}
	}
	return ""
}
