package metrics

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/session"
)

// peerMeter remembers one viewer's peer connection and its previous
// sample, for rates between scrapes.
type peerMeter struct {
	pc        *webrtc.PeerConnection
	pcID      string // pion's PeerConnection id, the stats getter's key
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

	report := pm.pc.GetStats()
	var pair *webrtc.ICECandidatePairStats
	local := map[string]webrtc.ICECandidateStats{}
	for _, v := range report {
		switch st := v.(type) {
		case webrtc.PeerConnectionStats:
			if pm.pcID == "" {
				c.mu.Lock()
				pm.pcID = st.ID
				c.mu.Unlock()
			}
		case webrtc.ICECandidatePairStats:
			if st.Nominated && st.State == webrtc.StatsICECandidatePairStateSucceeded {
				pair = &st
			}
		case webrtc.ICECandidateStats:
			if st.Type == webrtc.StatsTypeLocalCandidate {
				local[st.ID] = st
			}
		}
	}
	if pair != nil {
		s.path = "direct"
		if lc, ok := local[pair.LocalCandidateID]; ok && lc.CandidateType == webrtc.ICECandidateTypeRelay {
			s.path = "relay"
		}
		s.rtt = time.Duration(pair.CurrentRoundTripTime * float64(time.Second))
	}
	c.mu.Lock()
	g := c.getters[pm.pcID]
	c.mu.Unlock()
	if g == nil {
		return s
	}
	for _, sender := range pm.pc.GetSenders() {
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
