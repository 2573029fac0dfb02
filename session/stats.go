package session

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// ViewerStats are what a Viewer received. Rates are averages since the
// track's first packet; a live display takes differences of two snapshots.
type ViewerStats struct {
	Video TrackStats `json:"video"`
	Audio TrackStats `json:"audio"`
	// RTTMs is the round-trip time of the selected ICE candidate pair.
	RTTMs float64 `json:"rttMs"`
	// ICERefreshes counts ICE server fetches after the first.
	ICERefreshes int            `json:"iceRefreshes"`
	Signaling    SignalingStats `json:"signaling"`
	// Rejoins counts the offers made again after a connection ended
	// (ViewerOptions.Rejoin).
	Rejoins int `json:"rejoins"`
}

// TrackStats describe one received track.
type TrackStats struct {
	Codec     string `json:"codec,omitempty"`
	Frames    int64  `json:"frames"`
	Keyframes int64  `json:"keyframes"`
	Packets   int64  `json:"packets"`
	// Bytes counts RTP payload bytes.
	Bytes int64 `json:"bytes"`
	// PacketsLost and JitterMs come from pion's RTP statistics (RFC 3550).
	PacketsLost int64   `json:"packetsLost"`
	JitterMs    float64 `json:"jitterMs"`
	NACKs       uint32  `json:"nacks"`
	// MediaSeconds is the timestamp of the latest frame.
	MediaSeconds float64 `json:"mediaSeconds"`
	BitrateKbps  float64 `json:"bitrateKbps"`
	FPS          float64 `json:"fps"`
}

func (c *trackCounters) stats() TrackStats {
	s := TrackStats{Frames: c.frames, Keyframes: c.keyframes, Packets: c.packets, Bytes: c.bytes,
		MediaSeconds: c.mediaEnd.Seconds()}
	if c.codec != 0 {
		s.Codec = c.codec.String()
	}
	if d := c.lastPkt.Sub(c.firstPkt); d > 100*time.Millisecond {
		s.BitrateKbps = float64(c.bytes*8) / d.Seconds() / 1000
		s.FPS = float64(c.frames) / d.Seconds()
	}
	return s
}

// Stats returns a snapshot of the viewer's counters; after Run, those of
// the moment it ended.
func (v *Viewer) Stats() ViewerStats {
	v.mu.Lock()
	if v.final != nil {
		s := *v.final
		v.mu.Unlock()
		return s
	}
	s := ViewerStats{Video: v.video.stats(), Audio: v.audio.stats(), Signaling: signalingStats(v.link), Rejoins: v.rejoins}
	if v.link != nil && v.link.ice != nil {
		s.ICERefreshes = v.link.ice.count()
	}
	p, last := v.p, v.pcLast
	v.mu.Unlock()
	if p == nil {
		return s
	}
	if p.closing() { // GetStats would race with pion's close: the figures read last stand
		last.apply(&s)
		return s
	}
	var now pcStats
	for _, st := range p.pc.GetStats() {
		switch x := st.(type) {
		case webrtc.InboundRTPStreamStats:
			t := &now.audio
			if x.Kind == "video" {
				t = &now.video
			}
			t.PacketsLost, t.JitterMs, t.NACKs = int64(x.PacketsLost), x.Jitter*1000, x.NACKCount
		case webrtc.ICECandidatePairStats:
			if x.Nominated && x.State == webrtc.StatsICECandidatePairStateSucceeded {
				now.rttMs = x.CurrentRoundTripTime * 1000
			}
		}
	}
	v.mu.Lock()
	v.pcLast = now
	v.mu.Unlock()
	now.apply(&s)
	return s
}

// pcStats are the figures a Viewer reads from pion's statistics.
type pcStats struct {
	video, audio TrackStats // PacketsLost, JitterMs, NACKs
	rttMs        float64
}

func (p pcStats) apply(s *ViewerStats) {
	for _, x := range []struct{ to, from *TrackStats }{{&s.Video, &p.video}, {&s.Audio, &p.audio}} {
		x.to.PacketsLost, x.to.JitterMs, x.to.NACKs = x.from.PacketsLost, x.from.JitterMs, x.from.NACKs
	}
	s.RTTMs = p.rttMs
}
