package emulator

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/wire"
)

// maxStorageViewers bounds the viewers of one storage session. UNCONFIRMED
// (§6: DOC-LIM's ingestion quotas were not retrieved); the message is the
// one the JS sample master matches to stop retrying.
const maxStorageViewers = 3

// fanout is a channel's media as storage viewers get it: the recording
// session's RTP, forwarded (the service's multi-viewer path, §6).
type fanout struct {
	video, audio *webrtc.TrackLocalStaticRTP
}

func newFanout() *fanout {
	v, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "kvs-storage")
	a, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}, "audio", "kvs-storage")
	return &fanout{video: v, audio: a}
}

func (f *fanout) write(video bool, pkt *rtp.Packet) {
	t := f.audio
	if video {
		t = f.video
	}
	_ = t.WriteRTP(pkt)
}

// storageViewer is one JoinStorageSessionAsViewer client: a peer that sends
// it the channel's recorded media and takes its audio (not stored).
type storageViewer struct {
	svc      *storageService
	e        *Emulator
	arn      string
	clientID string
	done     chan struct{}
	endOnce  sync.Once

	mu        sync.Mutex
	pc        *webrtc.PeerConnection
	remoteSet bool
	pending   []webrtc.ICECandidateInit
}

// joinViewer sends a storage offer to the viewer connected with clientID;
// a second join with the same client id replaces the first (DOC-API).
func (s *storageService) joinViewer(e *Emulator, ch channelRecord, clientID string) *apiError {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	sc := s.channel(ch.ARN)
	old := sc.viewers[clientID]
	if old == nil && len(sc.viewers) >= maxStorageViewers {
		s.mu.Unlock()
		return &apiError{Status: 400, Code: "ClientLimitExceededException",
			Message: "The maximum number of viewers connected to the session has been reached.", Lower: true}
	}
	s.mu.Unlock()
	if old != nil {
		old.end()
	}
	if !e.relay.hasViewer(ch.ARN, clientID) {
		e.log.Info("JoinStorageSessionAsViewer: the viewer is not connected to the channel's WSS; no offer sent", "channel", ch.Name, "client", clientID)
		return nil
	}
	v := &storageViewer{svc: s, e: e, arn: ch.ARN, clientID: clientID, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	fwd := sc.fwd
	sc.viewers[clientID] = v
	s.wg.Add(1)
	s.mu.Unlock()
	go v.run(fwd)
	return nil
}

func (v *storageViewer) end() { v.endOnce.Do(func() { close(v.done) }) }

func (v *storageViewer) send(a wire.Action, t wire.MessageType, payload any) {
	p, err := wire.EncodePayload(payload)
	if err != nil {
		return
	}
	// §4.5: no senderClientId toward viewers.
	if frame, err := wire.EncodeServerMessage(wire.ServerMessage{MessageType: t, MessagePayload: p}); err == nil {
		v.e.relay.toViewer(v.arn, v.clientID, a, frame)
	}
}

func (v *storageViewer) run(fwd *fanout) {
	defer v.svc.wg.Done()
	defer v.cleanup()
	api, err := v.svc.storageAPI(v.e)
	if err != nil {
		return
	}
	user, pass, _ := v.e.turn.Credentials(5*time.Minute, "v1:"+v.arn)
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: []webrtc.ICEServer{{URLs: v.e.storageTURN(), Username: user, Credential: pass}}})
	if err != nil {
		return
	}
	v.mu.Lock()
	v.pc = pc
	v.mu.Unlock()
	for _, t := range []*webrtc.TrackLocalStaticRTP{fwd.video, fwd.audio} {
		sender, err := pc.AddTrack(t)
		if err != nil {
			return
		}
		v.svc.wg.Add(1)
		go func() { // RTCP must be read for the interceptors
			defer v.svc.wg.Done()
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.svc.wg.Add(1)
		go func() { // the viewer's audio: read and dropped (not stored)
			defer v.svc.wg.Done()
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			j := c.ToJSON()
			v.send(wire.ActionICECandidate, wire.MessageTypeICECandidate, wire.ICECandidateInit{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex})
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateClosed:
			v.end()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		return
	}
	v.send(wire.ActionSDPOffer, wire.MessageTypeSDPOffer, wire.SessionDescription{Type: "offer", SDP: offer.SDP})
	t := time.NewTimer(v.e.opts.Storage.OfferTimeout)
	defer t.Stop()
	select {
	case <-connected:
	case <-t.C:
		return
	case <-v.done:
		return
	}
	limit := time.NewTimer(v.e.opts.Storage.MaxSessionDuration)
	defer limit.Stop()
	select {
	case <-limit.C:
	case <-v.done:
	}
}

func (v *storageViewer) cleanup() {
	v.end()
	v.mu.Lock()
	pc := v.pc
	v.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	v.svc.mu.Lock()
	if sc := v.svc.channels[v.arn]; sc != nil && sc.viewers[v.clientID] == v {
		delete(sc.viewers, v.clientID)
	}
	v.svc.mu.Unlock()
}

// fromViewer takes a storage viewer's SDP_ANSWER and ICE_CANDIDATE frames.
func (s *storageService) fromViewer(arn, clientID string, m wire.ClientMessage) bool {
	if m.Action != wire.ActionSDPAnswer && m.Action != wire.ActionICECandidate {
		return false
	}
	s.mu.Lock()
	var v *storageViewer
	if sc := s.channels[arn]; sc != nil {
		v = sc.viewers[clientID]
	}
	s.mu.Unlock()
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pc == nil {
		return true
	}
	if m.Action == wire.ActionSDPAnswer {
		sd, err := wire.DecodeSDP(m.MessagePayload)
		if err != nil || v.remoteSet || v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.SDP}) != nil {
			return true
		}
		v.remoteSet = true
		for _, c := range v.pending {
			_ = v.pc.AddICECandidate(c)
		}
		v.pending = nil
		return true
	}
	c, err := wire.DecodeICECandidate(m.MessagePayload)
	if err != nil || c.Candidate == "" {
		return true
	}
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	if !v.remoteSet {
		if len(v.pending) < 256 {
			v.pending = append(v.pending, init)
		}
		return true
	}
	_ = v.pc.AddICECandidate(init)
	return true
}
