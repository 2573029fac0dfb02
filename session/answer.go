package session

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/wire"
)

// offer builds a viewer's peer connection, applies its offer and answers in
// the background.
func (m *Master) offer(ctx context.Context, l *link, id string, sd wire.SessionDescription, at time.Time, cfg resolve.ICEConfig) error {
	if at.IsZero() {
		at = time.Now()
	}
	early, err := m.admit(id)
	if err != nil {
		return err
	}
	tl := NewTimeline(at)
	tl.Add(StepOfferReceived, at, at)
	log := m.opts.Logger.With("viewer", id)
	trickle := !m.opts.NoTrickle
	p, err := newPeer(m.api, rtcConfig(&m.opts.Options, cfg), tl, log, trickle)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(ctx)
	mp := &masterPeer{peer: p, id: id, cancel: cancel, started: at}
	fail := func(err error) error {
		cancel()
		_ = p.pc.Close()
		return err
	}
	starts, mismatches, err := m.addMedia(pctx, mp, sd.SDP)
	if err != nil {
		return fail(err)
	}
	m.handlePeer(mp)
	for _, c := range early {
		_ = p.addCandidate(c)
	}
	if err := p.setRemote(sd); err != nil {
		return fail(fmt.Errorf("apply offer: %w", err))
	}
	if err := inactivate(p.pc, mismatches); err != nil {
		return fail(err)
	}
	if err := m.register(mp); err != nil {
		return fail(err)
	}
	if m.opts.OnPeer != nil {
		m.opts.OnPeer(PeerEvent{ClientID: id, Joined: true, Timeline: tl, Mismatches: mismatches})
	}

	answered := make(chan struct{})
	m.wg.Add(3)
	go func() {
		defer m.wg.Done()
		m.answer(pctx, l, mp, trickle, answered)
	}()
	go func() {
		defer m.wg.Done()
		p.sendCandidates(pctx, answered, func(ctx context.Context, c wire.ICECandidateInit) error {
			_, err := l.sig.SendICECandidate(ctx, id, c)
			return err
		})
	}()
	for _, start := range starts {
		start()
	}
	go func() {
		defer m.wg.Done()
		m.retire(pctx, mp)
	}()
	return nil
}

// admit makes room for viewer id: its earlier connection, if any, ends
// (the same viewer came back); a new one over MaxViewers is refused. It
// returns the candidates id sent before its offer.
func (m *Master) admit(id string) ([]wire.ICECandidateInit, error) {
	m.mu.Lock()
	old := m.peers[id]
	early := m.early[id]
	delete(m.early, id)
	n := len(m.peers)
	m.mu.Unlock()
	if old != nil {
		old.cancel()
		n--
	}
	if n >= m.opts.MaxViewers {
		return nil, fmt.Errorf("viewer %s refused: %d viewers already", id, n)
	}
	return early, nil
}

// addMedia adds to a viewer's connection a track for each source in the
// format its offer chose (sourceCodec.choose), then the caller's tracks. It
// returns what starts sending once the answer is on its way, and the media
// the viewer asked for that no offered format carries: those are left out,
// so the answer names them inactive, and a warning names the viewer and
// what it offered.
func (m *Master) addMedia(ctx context.Context, mp *masterPeer, offer string) (starts []func(), mismatches []CodecMismatch, err error) {
	for _, s := range []struct {
		src   *media.Source
		cache *packetCache
		kind  string
	}{{m.opts.Video, m.video, "video"}, {m.opts.Audio, m.audio, "audio"}} {
		if s.src == nil {
			continue
		}
		offered := mediaCodecs(offer, s.kind)
		if len(offered) == 0 {
			continue // the viewer wants no media of this kind
		}
		sc := sourceCodec{codec: s.src.Codec()}
		if sc.codec == media.CodecH264 {
			sc.plid = m.profileLevelID(s.src)
		}
		c, ok := sc.choose(offered)
		if !ok {
			mm := CodecMismatch{Kind: s.kind, Source: sc.String()}
			for _, o := range offered {
				mm.Offered = append(mm.Offered, o.String())
			}
			mp.log.Warn("no offered codec carries the source; answering without "+s.kind,
				"source", mm.Source, "offered", strings.Join(mm.Offered, ", "))
			mismatches = append(mismatches, mm)
			continue
		}
		start, err := m.addSourceTrack(ctx, mp, s.src, s.cache, c.parameters(s.kind), s.kind)
		if err != nil {
			return nil, nil, err
		}
		starts = append(starts, start)
	}
	senders, err := m.addUserTracks(mp.pc, mp.id)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range senders {
		starts = append(starts, func() { m.readRTCP(s) })
	}
	return starts, mismatches, nil
}

// addSourceTrack adds a track sending src in codec c; the returned func
// starts its sending and RTCP-reading goroutines.
func (m *Master) addSourceTrack(ctx context.Context, mp *masterPeer, src *media.Source, cache *packetCache, c webrtc.RTPCodecParameters, kind string) (func(), error) {
	track, err := webrtc.NewTrackLocalStaticRTP(c.RTPCodecCapability, kind, "kvsrtc")
	if err != nil {
		return nil, err
	}
	sender, err := mp.pc.AddTrack(track)
	if err != nil {
		return nil, err
	}
	// Answer with the chosen format alone, at the offer's payload type.
	for _, tr := range mp.pc.GetTransceivers() {
		if tr.Sender() == sender {
			if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{c}); err != nil {
				return nil, fmt.Errorf("%s codec %s: %w", kind, c.MimeType, err)
			}
		}
	}
	return func() {
		m.readRTCP(sender)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.pump(ctx, mp, src, cache, track)
		}()
	}, nil
}

// inactivate makes the answer name each mismatched kind of media inactive:
// pion answers a recvonly m-line it has no track for as sendonly, which
// would promise media that never comes.
func inactivate(pc *webrtc.PeerConnection, mismatches []CodecMismatch) error {
	for _, mm := range mismatches {
		for _, tr := range pc.GetTransceivers() {
			if tr.Kind().String() != mm.Kind || (tr.Sender() != nil && tr.Sender().Track() != nil) {
				continue
			}
			if err := tr.Stop(); err != nil {
				return fmt.Errorf("stop the %s transceiver: %w", mm.Kind, err)
			}
		}
	}
	return nil
}

// handlePeer sets the viewer's event and data-channel handling and hands
// its PeerConnection to the caller's hook.
func (m *Master) handlePeer(mp *masterPeer) {
	mp.watch(channel.RoleMaster, &m.opts.Options, mp.id, nil)
	mp.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		mp.dcMu.Lock()
		mp.dc = dc
		mp.dcMu.Unlock()
		handleDataChannel(&m.opts.Options, mp.id, mp.id, dc, m.answerProbe(mp))
	})
	if m.opts.OnPeerConnection != nil {
		m.opts.OnPeerConnection(mp.id, mp.pc)
	}
}

// register counts the viewer in, unless the master closed meanwhile.
func (m *Master) register(mp *masterPeer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.peers[mp.id] = mp
	m.total++
	return nil
}

// answer creates and sends the answer; answered is closed once it is sent.
func (m *Master) answer(ctx context.Context, l *link, mp *masterPeer, trickle bool, answered chan<- struct{}) {
	answer, err := mp.pc.CreateAnswer(answerOptions(trickle))
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(mp.pc)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			mp.gathering(gathered, ctx.Done())
		}()
		var wsd wire.SessionDescription
		wsd, err = mp.localDescription(ctx, answer, trickle)
		if err == nil {
			_, err = l.sig.SendAnswer(ctx, mp.id, wsd)
		}
	}
	if err != nil {
		mp.log.Warn("answer", "err", err)
		mp.end(fmt.Errorf("answer: %w", err))
		return
	}
	mp.tl.Mark(StepAnswer, mp.started)
	close(answered)
}

// retire waits for the viewer's connection to end, closes it and keeps
// its report.
func (m *Master) retire(ctx context.Context, mp *masterPeer) {
	select {
	case <-mp.ended:
	case <-ctx.Done():
	}
	mp.cancel()
	_ = mp.pc.Close()
	m.mu.Lock()
	if m.peers[mp.id] == mp {
		delete(m.peers, mp.id)
	}
	r := mp.report()
	if len(m.ended) == maxReports {
		m.ended = m.ended[1:]
	}
	m.ended = append(m.ended, r)
	m.mu.Unlock()
	if m.opts.OnPeer != nil {
		m.opts.OnPeer(PeerEvent{ClientID: mp.id, Timeline: mp.tl, Err: mp.err()})
	}
}
