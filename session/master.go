package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// maxEarly bounds the viewers whose candidates are held before their offer.
const maxEarly = 64

// maxReports bounds the ended viewers a Master remembers.
const maxReports = 100

// Master answers every viewer that sends an offer with its own
// PeerConnection and sends it the same media: each Source is read and
// packetized once, and every viewer starts at the current GOP.
type Master struct {
	opts  MasterOptions
	api   *webrtc.API
	tl    *Timeline
	video *packetCache
	audio *packetCache

	mu      sync.Mutex
	peers   map[string]*masterPeer
	early   map[string][]wire.ICECandidateInit
	ended   []PeerReport
	link    *link
	cancel  context.CancelFunc
	started bool
	closed  bool
	runDone chan struct{}
	wg      sync.WaitGroup
	total   int
}

// masterPeer is one viewer of a Master.
type masterPeer struct {
	*peer
	id      string
	cancel  context.CancelFunc
	started time.Time

	dcMu sync.Mutex
	dc   *webrtc.DataChannel

	videoFrames, audioFrames, packets, bytes atomic.Int64
}

// PeerReport is what a Master knows of one viewer.
type PeerReport struct {
	ClientID string    `json:"clientId"`
	Timeline *Timeline `json:"timeline"`
	Stats    PeerStats `json:"stats"`
	Err      string    `json:"error,omitempty"`
}

// PeerStats counts what a Master sent one viewer.
type PeerStats struct {
	State       string `json:"state"`
	VideoFrames int64  `json:"videoFrames"`
	AudioFrames int64  `json:"audioFrames"`
	Packets     int64  `json:"packets"`
	Bytes       int64  `json:"bytes"`
}

// NewMaster returns a Master. opts is copied; optFns change the copy.
func NewMaster(opts MasterOptions, optFns ...func(*MasterOptions)) (*Master, error) {
	for _, f := range optFns {
		f(&opts)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.MaxViewers <= 0 {
		opts.MaxViewers = 10
	}
	opts.Logger = opts.Logger.With("component", "session", "role", "master")
	api, err := newAPI(&opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Timeline == nil {
		opts.Timeline = NewTimeline(time.Now())
	}
	m := &Master{opts: opts, api: api, tl: opts.Timeline, peers: map[string]*masterPeer{},
		early: map[string][]wire.ICECandidateInit{}, runDone: make(chan struct{})}
	if opts.Video != nil {
		m.video = newPacketCache(opts.Video.Codec(), 1024)
	}
	if opts.Audio != nil {
		m.audio = newPacketCache(opts.Audio.Codec(), 256)
	}
	return m, nil
}

// Timeline is the master's own timeline (endpoints, ICE servers, connect);
// each viewer has its own, in Peers.
func (m *Master) Timeline() *Timeline {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tl
}

// Run connects to the channel as master and answers viewers until ctx ends
// (it returns ctx's error) or Close is called (nil). Before it returns,
// every viewer is closed.
func (m *Master) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.closed || m.started {
		m.mu.Unlock()
		return ErrClosed
	}
	m.started = true
	ctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	tl := m.tl
	m.mu.Unlock()
	defer close(m.runDone)
	defer cancel()

	l, err := connect(ctx, &m.opts.Options, channel.RoleMaster, "", tl, nil)
	if err != nil {
		return m.result(ctx, err)
	}
	m.mu.Lock()
	m.link = l
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		l.ice.run(ctx, m.opts.Logger.Warn)
	}()
	defer func() {
		cancel() // ends every viewer (their contexts derive from ctx) and the ICE refresh
		m.closePeers()
		m.wg.Wait()
		l.sig.Close()
	}()

	for {
		select {
		case <-ctx.Done():
			return m.result(ctx, ctx.Err())
		case msg, ok := <-l.sig.Messages():
			if !ok {
				return m.result(ctx, errors.New("signaling closed"))
			}
			m.handle(ctx, l, msg)
		}
	}
}

// result is Run's error: nil after Close.
func (m *Master) result(_ context.Context, err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	return err
}

func (m *Master) handle(ctx context.Context, l *link, msg signaling.Message) {
	log := m.opts.Logger
	id := msg.SenderClientID
	switch msg.MessageType {
	case wire.MessageTypeSDPOffer:
		sd, err := msg.SessionDescription()
		if err != nil {
			log.Warn("bad offer", "from", id, "err", err)
			return
		}
		// msg.ReceivedAt is on the service's clock; timelines use the local one.
		if err := m.offer(ctx, l, id, sd, time.Now()); err != nil {
			log.Warn("answer viewer", "from", id, "err", err)
		}
	case wire.MessageTypeICECandidate:
		c, err := msg.ICECandidate()
		if err != nil {
			log.Warn("bad candidate", "from", id, "err", err)
			return
		}
		m.mu.Lock()
		p := m.peers[id]
		if p == nil {
			// Before the offer: keep it for the offer (spec §13).
			if _, ok := m.early[id]; ok || len(m.early) < maxEarly {
				if len(m.early[id]) < maxPendingCandidates {
					m.early[id] = append(m.early[id], c)
				}
			}
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if err := p.addCandidate(c); err != nil {
			log.Debug("remote candidate refused", "from", id, "err", err)
		}
	case wire.MessageTypeStatusResponse:
		log.Warn("signaling refused a message", "status", fmt.Sprint(msg.StatusResponse))
	}
}

// offer builds a viewer's peer connection, applies its offer and answers in
// the background.
func (m *Master) offer(ctx context.Context, l *link, id string, sd wire.SessionDescription, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	m.mu.Lock()
	old := m.peers[id]
	early := m.early[id]
	delete(m.early, id)
	n := len(m.peers)
	m.mu.Unlock()
	if old != nil {
		old.cancel() // the same viewer came back: its old connection is over
		n--
	}
	if n >= m.opts.MaxViewers {
		return fmt.Errorf("viewer %s refused: %d viewers already", id, n)
	}
	tl := NewTimeline(at)
	tl.Add(StepOfferReceived, at, at)
	log := m.opts.Logger.With("viewer", id)
	trickle := !m.opts.NoTrickle
	p, err := newPeer(m.api, rtcConfig(&m.opts.Options, l.ice.fresh(ctx, log.Warn)), tl, log, trickle)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(ctx)
	mp := &masterPeer{peer: p, id: id, cancel: cancel, started: at}
	var tracks []func()
	addTrack := func(src *media.Source, cache *packetCache, kind string) error {
		if src == nil {
			return nil
		}
		track, err := webrtc.NewTrackLocalStaticRTP(capability(src.Codec()), kind, "kvsrtc")
		if err != nil {
			return err
		}
		sender, err := p.pc.AddTrack(track)
		if err != nil {
			return err
		}
		// Offer only the codec sent, so the answer names it alone.
		for _, tr := range p.pc.GetTransceivers() {
			if tr.Sender() == sender {
				if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{{RTPCodecCapability: track.Codec()}}); err != nil {
					return err
				}
			}
		}
		tracks = append(tracks, func() {
			m.wg.Add(2)
			go func() { // RTCP must be read for the interceptors (NACK) to work
				defer m.wg.Done()
				for {
					if _, _, err := sender.ReadRTCP(); err != nil {
						return
					}
				}
			}()
			go func() {
				defer m.wg.Done()
				m.pump(pctx, mp, src, cache, track)
			}()
		})
		return nil
	}
	fail := func(err error) error {
		cancel()
		_ = p.pc.Close()
		return err
	}
	if err := addTrack(m.opts.Video, m.video, "video"); err != nil {
		return fail(err)
	}
	if err := addTrack(m.opts.Audio, m.audio, "audio"); err != nil {
		return fail(err)
	}
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		mp.dcMu.Lock()
		mp.dc = dc
		mp.dcMu.Unlock()
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			if m.opts.OnMessage != nil {
				m.opts.OnMessage(id, DataMessage{Data: msg.Data, IsString: msg.IsString})
			}
		})
	})
	for _, c := range early {
		_ = p.addCandidate(c)
	}
	if err := p.setRemote(sd); err != nil {
		return fail(fmt.Errorf("apply offer: %w", err))
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return fail(ErrClosed)
	}
	m.peers[id] = mp
	m.total++
	m.mu.Unlock()
	if m.opts.OnPeer != nil {
		m.opts.OnPeer(PeerEvent{ClientID: id, Joined: true, Timeline: tl})
	}

	answered := make(chan struct{})
	m.wg.Add(3)
	go func() {
		defer m.wg.Done()
		answer, err := p.pc.CreateAnswer(nil)
		if err == nil {
			var wsd wire.SessionDescription
			wsd, err = p.localDescription(pctx, answer, trickle)
			if err == nil {
				_, err = l.sig.SendAnswer(pctx, id, wsd)
			}
		}
		if err != nil {
			log.Warn("answer", "err", err)
			p.end(fmt.Errorf("answer: %w", err))
			return
		}
		tl.Mark(StepAnswer, at)
		close(answered)
	}()
	go func() {
		defer m.wg.Done()
		p.sendCandidates(pctx, answered, func(ctx context.Context, c wire.ICECandidateInit) error {
			_, err := l.sig.SendICECandidate(ctx, id, c)
			return err
		})
	}()
	for _, start := range tracks {
		start()
	}
	go func() {
		defer m.wg.Done()
		select {
		case <-p.ended:
		case <-pctx.Done():
		}
		cancel()
		_ = p.pc.Close()
		m.mu.Lock()
		if m.peers[id] == mp {
			delete(m.peers, id)
		}
		r := mp.report()
		if len(m.ended) == maxReports {
			m.ended = m.ended[1:]
		}
		m.ended = append(m.ended, r)
		m.mu.Unlock()
		if m.opts.OnPeer != nil {
			m.opts.OnPeer(PeerEvent{ClientID: id, Timeline: tl, Err: p.err()})
		}
	}()
	return nil
}

// pump sends src to one viewer once its connection is up, starting at the
// cached GOP.
func (m *Master) pump(ctx context.Context, mp *masterPeer, src *media.Source, cache *packetCache, track *webrtc.TrackLocalStaticRTP) {
	select {
	case <-mp.connected:
	case <-ctx.Done():
		return
	}
	connectedAt := time.Now()
	if s, ok := mp.tl.Step(StepDTLSConnected); ok {
		connectedAt = mp.tl.Start().Add(time.Duration(s.EndMs * float64(time.Millisecond)))
	}
	codec := src.Codec()
	rate := float64(clockRate(codec))
	frames, unsubscribe := src.Subscribe()
	defer unsubscribe()
	seq := uint16(rand.Uint32())
	base := rand.Uint32()
	first := true
	for {
		var f media.Frame
		var ok bool
		select {
		case f, ok = <-frames:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		payloads := cache.payloads(f)
		ts := base + uint32(int64(f.Timestamp.Seconds()*rate))
		for i, pl := range payloads {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(payloads)-1, SequenceNumber: seq, Timestamp: ts}, Payload: pl}
			seq++
			if err := track.WriteRTP(pkt); err != nil {
				if errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
			mp.packets.Add(1)
			mp.bytes.Add(int64(len(pl)))
		}
		if codec.IsVideo() {
			mp.videoFrames.Add(1)
		} else {
			mp.audioFrames.Add(1)
		}
		if first {
			first = false
			step := StepFirstAudio
			if codec.IsVideo() {
				step = StepFirstVideo
			}
			mp.tl.Mark(step, connectedAt)
		}
		if m.opts.OnFrameSent != nil {
			m.opts.OnFrameSent(mp.id, codec, f)
		}
	}
}

func (mp *masterPeer) report() PeerReport {
	r := PeerReport{ClientID: mp.id, Timeline: mp.tl, Stats: PeerStats{
		State:       mp.pc.ConnectionState().String(),
		VideoFrames: mp.videoFrames.Load(), AudioFrames: mp.audioFrames.Load(),
		Packets: mp.packets.Load(), Bytes: mp.bytes.Load(),
	}}
	if err := mp.err(); err != nil {
		r.Err = err.Error()
	}
	return r
}

// Peers reports the viewers connected now, then those that left (the
// latest 100), in the order they left.
func (m *Master) Peers() []PeerReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []PeerReport
	for _, p := range m.peers {
		out = append(out, p.report())
	}
	return append(out, m.ended...)
}

// MasterStats are a Master's counters.
type MasterStats struct {
	// Viewers connected now, and ever.
	Viewers      int `json:"viewers"`
	ViewersTotal int `json:"viewersTotal"`
	// ICERefreshes counts ICE server fetches after the first.
	ICERefreshes int `json:"iceRefreshes"`
	// Signaling counters, named as the C SDK's (spec §12).
	Signaling SignalingStats `json:"signaling"`
	// VideoPacketized and AudioPacketized count frames packetized: once
	// each, however many viewers.
	VideoPacketized int `json:"videoPacketized"`
	AudioPacketized int `json:"audioPacketized"`
}

// SignalingStats are the signaling client's counters.
type SignalingStats struct {
	MessagesSent     uint64  `json:"numberOfMessagesSent"`
	MessagesReceived uint64  `json:"numberOfMessagesReceived"`
	Reconnects       uint64  `json:"numberOfReconnects"`
	Errors           uint64  `json:"numberOfErrors"`
	ICERefreshes     uint64  `json:"iceRefreshCount"`
	ConnectMs        float64 `json:"connectCallTime"`
}

func signalingStats(l *link) SignalingStats {
	if l == nil || l.sig == nil {
		return SignalingStats{}
	}
	s := l.sig.Stats()
	return SignalingStats{MessagesSent: s.MessagesSent, MessagesReceived: s.MessagesReceived, Reconnects: s.Reconnects,
		Errors: s.Errors, ICERefreshes: s.ICERefreshes, ConnectMs: float64(s.ConnectTime.Microseconds()) / 1000}
}

// Stats returns the master's counters.
func (m *Master) Stats() MasterStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MasterStats{Viewers: len(m.peers), ViewersTotal: m.total, Signaling: signalingStats(m.link)}
	if m.link != nil && m.link.ice != nil {
		s.ICERefreshes = m.link.ice.count()
	}
	if m.video != nil {
		m.video.mu.Lock()
		s.VideoPacketized = m.video.count
		m.video.mu.Unlock()
	}
	if m.audio != nil {
		m.audio.mu.Lock()
		s.AudioPacketized = m.audio.count
		m.audio.mu.Unlock()
	}
	return s
}

// SendText sends s to every viewer whose data channel is open and returns
// how many it reached.
func (m *Master) SendText(s string) (int, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, ErrClosed
	}
	peers := make([]*masterPeer, 0, len(m.peers))
	for _, p := range m.peers {
		peers = append(peers, p)
	}
	m.mu.Unlock()
	n := 0
	var errs []error
	for _, p := range peers {
		p.dcMu.Lock()
		dc := p.dc
		p.dcMu.Unlock()
		if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
			continue
		}
		if err := dc.SendText(s); err != nil {
			errs = append(errs, fmt.Errorf("viewer %s: %w", p.id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// closePeers ends every viewer's connection.
func (m *Master) closePeers() {
	m.mu.Lock()
	peers := make([]*masterPeer, 0, len(m.peers))
	for _, p := range m.peers {
		peers = append(peers, p)
	}
	m.mu.Unlock()
	for _, p := range peers {
		p.cancel()
	}
}

// Close stops Run, closes every peer connection and the signaling
// connection, and waits for every goroutine. It is idempotent.
func (m *Master) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.waitRun()
		return nil
	}
	m.closed = true
	cancel, started := m.cancel, m.started
	m.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	<-m.runDone
	return nil
}

func (m *Master) waitRun() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		c := make(chan struct{})
		close(c)
		return c
	}
	return m.runDone
}
