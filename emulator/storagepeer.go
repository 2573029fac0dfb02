package emulator

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
	"github.com/kvsrtc/kvsrtc/wire"
)

// masterWait is how long a JoinStorageSession waits for the channel's
// master to be on the WSS.
const masterWait = 2 * time.Second

// storagePeer is the emulator's media server side of one storage session:
// a pion peer that offers to receive H.264 and Opus from the master and
// records them into the channel's stream (spec §6).
type storagePeer struct {
	svc    *storageService
	e      *Emulator
	arn    string
	id     string // session id; the offer's senderClientId unless EmptySenderID
	pc     *webrtc.PeerConnection
	rec    *mkv.Recorder
	joined time.Time
	done   chan struct{}

	mu        sync.Mutex
	connected time.Time
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	endOnce   sync.Once
	reason    string

	video, audio atomic.Int64
	recording    atomic.Bool // the channel's current session: its RTP goes to storage viewers
	fwd          *fanout
}

// storageAPI is the media server's pion API, built once: default codecs
// and interceptors (NACK, reports), host candidates on the emulator's
// address only (as its TURN server), no mDNS, pion's logs discarded.
func (s *storageService) storageAPI(e *Emulator) (*webrtc.API, error) {
	s.apiOnce.Do(func() {
		m := &webrtc.MediaEngine{}
		if s.apiErr = m.RegisterDefaultCodecs(); s.apiErr != nil {
			return
		}
		ir := &interceptor.Registry{}
		if s.apiErr = webrtc.RegisterDefaultInterceptors(m, ir); s.apiErr != nil {
			return
		}
		lf := logging.NewDefaultLoggerFactory()
		lf.Writer = io.Discard
		se := webrtc.SettingEngine{LoggerFactory: lf}
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		if ip := net.ParseIP(e.opts.TURNAddress); ip != nil && !ip.IsUnspecified() {
			se.SetIPFilter(func(x net.IP) bool { return x.Equal(ip) })
		}
		s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	})
	return s.api, s.apiErr
}

// join starts a storage session for a JoinStorageSession call: one
// SDP_OFFER to the channel's connected master (§6: one offer per call).
func (s *storageService) join(e *Emulator, ch channelRecord, st streamRecord) {
	log := e.log.With("component", "storage", "channel", ch.Name)
	s.mu.Lock()
	s.initDrop(e)
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.dropped > 0 {
		s.dropped--
		s.mu.Unlock()
		log.Info("JoinStorageSession: offer dropped (fault)")
		return
	}
	s.mu.Unlock()
	so := e.opts.Storage
	id := newSessionID()
	rec, err := mkv.NewRecorder(mkv.RecorderOptions{Dir: e.streamMediaDir(st.ARN), FragmentDuration: so.FragmentDuration, Session: id})
	if err != nil {
		log.Warn("storage session", "err", err)
		return
	}
	p := &storagePeer{svc: s, e: e, arn: ch.ARN, id: id, rec: rec, joined: e.now(), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		rec.Close()
		return
	}
	sc := s.channel(ch.ARN)
	p.fwd = sc.fwd
	sc.peers[p.id] = p
	sc.newest = p
	s.wg.Add(1)
	s.mu.Unlock()
	go p.run(log.With("session", p.id))
}

// sender is the senderClientId the master sees.
func (p *storagePeer) sender() string {
	if p.e.opts.Storage.EmptySenderID {
		return ""
	}
	return p.id
}

func (p *storagePeer) toMaster(a wire.Action, t wire.MessageType, v any) {
	payload, err := wire.EncodePayload(v)
	if err != nil {
		return
	}
	frame, err := wire.EncodeServerMessage(wire.ServerMessage{SenderClientID: p.sender(), MessageType: t, MessagePayload: payload})
	if err == nil {
		p.e.relay.toMaster(p.arn, p.id, a, frame)
	}
}

func (p *storagePeer) run(log interface {
	Info(string, ...any)
	Debug(string, ...any)
	Warn(string, ...any)
}) {
	defer p.svc.wg.Done()
	defer p.cleanup()
	so := p.e.opts.Storage
	// A master that joins right after its WSS opened may be a moment from
	// being registered (the 101 is sent first): wait for it, briefly.
	// UNCONFIRMED (§6) what the service does with no master on the WSS; the
	// emulator sends no offer.
	wait := time.NewTicker(10 * time.Millisecond)
	defer wait.Stop()
	for deadline := time.Now().Add(masterWait); !p.e.relay.hasMaster(p.arn); {
		if time.Now().After(deadline) {
			p.end("no master connected to the channel's WSS; no offer sent")
			return
		}
		select {
		case <-p.done:
			return
		case <-wait.C:
		}
	}
	api, err := p.svc.storageAPI(p.e)
	if err != nil {
		log.Warn("storage peer", "err", err)
		return
	}
	user, pass, _ := p.e.turn.Credentials(5*time.Minute, "v1:"+p.arn)
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: []webrtc.ICEServer{{URLs: p.e.storageTURN(), Username: user, Credential: pass}}})
	if err != nil {
		log.Warn("storage peer", "err", err)
		return
	}
	p.mu.Lock()
	p.pc = pc
	p.mu.Unlock()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			log.Warn("storage peer", "err", err)
			return
		}
	}
	// A data channel, so the offer has an SCTP association whose close the
	// master sees at once when the session ends.
	if _, err := pc.CreateDataChannel("kvsDataChannel", nil); err != nil {
		log.Warn("storage peer", "err", err)
		return
	}
	// The master's close is seen at once through the association (ICE
	// would notice seconds later).
	pc.SCTP().OnClose(func(error) { p.end("the master closed the connection") })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.svc.wg.Add(1)
		go func() {
			defer p.svc.wg.Done()
			p.receive(tr)
		}()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		p.toMaster(wire.ActionICECandidate, wire.MessageTypeICECandidate, wire.ICECandidateInit{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex})
	})
	connected := make(chan struct{})
	var connOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connOnce.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateClosed:
			p.end("peer connection " + s.String())
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		log.Warn("storage offer", "err", err)
		return
	}
	p.toMaster(wire.ActionSDPOffer, wire.MessageTypeSDPOffer, wire.SessionDescription{Type: "offer", SDP: offer.SDP})
	log.Debug("storage offer sent")

	offerTimer := time.NewTimer(so.OfferTimeout)
	defer offerTimer.Stop()
	select {
	case <-connected:
	case <-offerTimer.C:
		p.end("offer not answered in time")
		return
	case <-p.done:
		return
	}
	p.mu.Lock()
	p.connected = p.e.now()
	p.mu.Unlock()
	p.svc.promote(p)
	log.Info("storage session connected; recording")
	limit := time.NewTimer(so.MaxSessionDuration)
	defer limit.Stop()
	select {
	case <-limit.C:
		p.end("session limit reached")
	case <-p.done:
	}
}

// promote makes p the channel's recording session; the one it replaces
// ends (the most recent master wins, DOC-API JoinStorageSession).
func (s *storageService) promote(p *storagePeer) {
	s.mu.Lock()
	sc := s.channel(p.arn)
	old := sc.current
	sc.current = p
	if old != nil {
		old.recording.Store(false)
	}
	p.recording.Store(true)
	s.mu.Unlock()
	if old != nil && old != p {
		old.end("replaced by a newer storage session")
	}
}

// end stops the session; it is idempotent.
func (p *storagePeer) end(reason string) {
	p.endOnce.Do(func() {
		p.mu.Lock()
		p.reason = reason
		p.mu.Unlock()
		close(p.done)
	})
}

func (p *storagePeer) cleanup() {
	p.end("done")
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	if err := p.rec.Close(); err != nil {
		p.e.log.Warn("storage recording", "session", p.id, "err", err)
	}
	s := p.svc
	s.mu.Lock()
	if sc := s.channels[p.arn]; sc != nil {
		if sc.peers[p.id] == p {
			delete(sc.peers, p.id)
		}
		if sc.current == p {
			sc.current = nil
		}
		if sc.newest == p {
			sc.newest = nil
		}
	}
	s.mu.Unlock()
	p.mu.Lock()
	reason := p.reason
	p.mu.Unlock()
	frags, frames := p.rec.Stats()
	p.e.log.Info("storage session ended", "session", p.id, "reason", reason, "fragments", frags, "frames", frames)
}

func (p *storagePeer) info(current bool) StorageSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	return StorageSession{ID: p.id, Recording: current, Joined: p.joined, Connected: p.connected,
		VideoFrames: int(p.video.Load()), AudioFrames: int(p.audio.Load())}
}

// fromMaster takes the master's SDP_ANSWER and ICE_CANDIDATE frames meant
// for a storage session: addressed to its id, or with an empty recipient
// to the newest one (§6: the C SDK answers with the offer's possibly empty
// sender). It reports whether it took the frame.
func (s *storageService) fromMaster(arn string, m wire.ClientMessage) bool {
	if m.Action != wire.ActionSDPAnswer && m.Action != wire.ActionICECandidate {
		return false
	}
	s.mu.Lock()
	var p *storagePeer
	if sc := s.channels[arn]; sc != nil {
		if m.RecipientClientID == "" {
			p = sc.newest
		} else {
			p = sc.peers[m.RecipientClientID]
		}
	}
	s.mu.Unlock()
	if p == nil {
		return false
	}
	if m.Action == wire.ActionSDPAnswer {
		p.answer(m.MessagePayload)
	} else {
		p.candidate(m.MessagePayload)
	}
	return true
}

func (p *storagePeer) answer(payload string) {
	sd, err := wire.DecodeSDP(payload)
	if err != nil || sd.Type != "answer" {
		p.end("bad answer")
		return
	}
	p.mu.Lock()
	if p.pc == nil || p.remoteSet {
		p.mu.Unlock()
		return
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.SDP}); err != nil {
		p.mu.Unlock()
		p.end("answer refused: " + err.Error())
		return
	}
	p.remoteSet = true
	for _, c := range p.pending {
		_ = p.pc.AddICECandidate(c)
	}
	p.pending = nil
	p.mu.Unlock()
}

func (p *storagePeer) candidate(payload string) {
	c, err := wire.DecodeICECandidate(payload)
	if err != nil || c.Candidate == "" {
		return
	}
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pc == nil || !p.remoteSet {
		if len(p.pending) < 256 {
			p.pending = append(p.pending, init)
		}
		return
	}
	_ = p.pc.AddICECandidate(init)
}

// receive records one remote track until it ends.
func (p *storagePeer) receive(tr *webrtc.TrackRemote) {
	codec := strings.ToLower(tr.Codec().MimeType)
	var sb *samplebuilder.SampleBuilder
	st := stamper{clock: float64(tr.Codec().ClockRate)}
	video := false
	switch codec {
	case strings.ToLower(webrtc.MimeTypeH264):
		sb, video = samplebuilder.New(256, &codecs.H264Packet{}, tr.Codec().ClockRate), true
	case strings.ToLower(webrtc.MimeTypeOpus):
		sb = samplebuilder.New(64, &codecs.OpusPacket{}, tr.Codec().ClockRate)
	default:
		// DOC-API: ingestion takes H.264 and Opus only; other media is
		// received and dropped.
		p.e.log.Info("storage session: track not stored", "session", p.id, "codec", codec)
	}
	if video {
		p.svc.wg.Add(1)
		go func() {
			defer p.svc.wg.Done()
			p.askKeyframes(uint32(tr.SSRC()))
		}()
	}
	store := func(frames []stampedFrame) {
		for _, f := range frames {
			if video {
				if p.rec.WriteVideo(f.t, f.data) == nil {
					p.video.Add(1)
				}
			} else if p.rec.WriteAudio(f.t, f.data) == nil {
				p.audio.Add(1)
			}
		}
	}
	defer func() { store(st.flush()) }()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if p.recording.Load() {
			p.fwd.write(video, pkt)
		}
		if sb == nil {
			continue
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			store(st.push(s.PacketTimestamp, p.e.now(), s.Data))
		}
	}
}

// askKeyframes sends PLIs until the recording has started (a fragment
// must begin with a keyframe), at most 10, one a second.
func (p *storagePeer) askKeyframes(ssrc uint32) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range 10 {
		if p.video.Load() > 0 {
			if frags, frames := p.rec.Stats(); frags > 0 || frames > 0 {
				return
			}
		}
		p.mu.Lock()
		pc := p.pc
		p.mu.Unlock()
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}
