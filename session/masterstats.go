package session

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
