package metrics

import (
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/session"
)

// peerMeter remembers one viewer's peer connection and its previous
// sample, for rates between scrapes.
type peerMeter struct {
	pc        *webrtc.PeerConnection
	getter    stats.Getter // its stats interceptor, once found
	lastVideo time.Time

	at     time.Time
	bytes  int64
	frames int64
}

// peerSample is what a scrape reports of one viewer beyond its counters.
type peerSample struct {
	bitrate, fps float64
	path         string // "relay", "direct" or "" before ICE selects a pair
	rtt          time.Duration
	haveRR       bool
	lost         int64
	fractionLost float64
	nacks        uint32
}

// sample reads pion's stats for a viewer and the rates since the previous
// scrape. The rates use the session's own counters (the same ones
// viewer_sent_bytes_total reports), so they agree with Master.Peers.
func (c *Master) sample(p session.PeerReport, now time.Time) peerSample {
	c.mu.Lock()
	pm := c.peers[p.ClientID]
	c.mu.Unlock()
	var s peerSample
	if pm == nil {
		return s
	}
	c.mu.Lock()
	if !pm.at.IsZero() {
		if dt := now.Sub(pm.at).Seconds(); dt > 0 {
			s.bitrate = float64(p.Stats.Bytes-pm.bytes) * 8 / dt
			s.fps = float64(p.Stats.VideoFrames-pm.frames) / dt
		}
	}
	pm.at, pm.bytes, pm.frames = now, p.Stats.Bytes, p.Stats.VideoFrames
	c.mu.Unlock()

	// Not pc.GetStats: in pion v4.2.26 it reads the PeerConnection's stats
	// getter unlocked while Close clears it (a data race under -race).
	senders := pm.pc.GetSenders()
	for _, sender := range senders {
		dtls := sender.Transport()
		if dtls == nil || dtls.ICETransport() == nil {
			continue
		}
		ice := dtls.ICETransport()
		if pair, err := ice.GetSelectedCandidatePair(); err == nil && pair != nil && pair.Local != nil && pair.Remote != nil {
			// Relayed when either end sends through TURN.
			s.path = "direct"
			if pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Typ == webrtc.ICECandidateTypeRelay {
				s.path = "relay"
			}
		}
		if ps, ok := ice.GetSelectedCandidatePairStats(); ok {
			s.rtt = time.Duration(ps.CurrentRoundTripTime * float64(time.Second))
		}
		break
	}
	g := c.getterFor(pm, senders)
	if g == nil {
		return s
	}
	for _, sender := range senders {
		if sender.Track() == nil {
			continue
		}
		for _, enc := range sender.GetParameters().Encodings {
			st := g.Get(uint32(enc.SSRC))
			if st == nil {
				continue
			}
			s.nacks += st.OutboundRTPStreamStats.NACKCount
			ri := st.RemoteInboundRTPStreamStats
			if ri.PacketsReceived == 0 && ri.PacketsLost == 0 && ri.RoundTripTimeMeasurements == 0 {
				continue // no receiver report yet
			}
			s.haveRR = true
			s.lost += ri.PacketsLost
			if ri.FractionLost > s.fractionLost {
				s.fractionLost = ri.FractionLost
			}
			if ri.RoundTripTimeMeasurements > 0 && ri.RoundTripTime > 0 {
				s.rtt = ri.RoundTripTime
			}
		}
	}
	return s
}

// getterFor finds the stats interceptor of pm's PeerConnection: the one
// that records one of its senders' SSRCs (random 32-bit numbers, so one
// match names it). Found once, it is kept on pm.
func (c *Master) getterFor(pm *peerMeter, senders []*webrtc.RTPSender) stats.Getter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pm.getter != nil {
		return pm.getter
	}
	for _, sender := range senders {
		for _, enc := range sender.GetParameters().Encodings {
			for key, g := range c.getters {
				if g.getter.Get(uint32(enc.SSRC)) != nil {
					pm.getter = g.getter
					delete(c.getters, key)
					return pm.getter
				}
			}
		}
	}
	return nil
}
