package session

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/wire"
)

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
		track, err := webrtc.NewTrackLocalStaticRTP(m.capability(src), kind, "kvsrtc")
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
	senders, err := m.addUserTracks(p.pc, id)
	if err != nil {
		return fail(err)
	}
	for _, s := range senders {
		tracks = append(tracks, func() { m.readRTCP(s) })
	}
	p.watch(id, m.opts.Events, nil)
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		mp.dcMu.Lock()
		mp.dc = dc
		mp.dcMu.Unlock()
		handleDataChannel(&m.opts.Options, id, id, dc)
	})
	if m.opts.OnPeerConnection != nil {
		m.opts.OnPeerConnection(id, p.pc)
	}
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
		answer, err := p.pc.CreateAnswer(answerOptions(trickle))
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
