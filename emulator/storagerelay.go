package emulator

import "github.com/kvsrtc/kvsrtc/wire"

// The storage service's use of the WSS relay: its offers reach the master
// (or a storage viewer) over that client's signaling connection (§6).

// hasMaster reports whether a master is connected to the channel.
func (r *relay) hasMaster(arn string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.channels[arn]
	return cs != nil && cs.master != nil
}

// hasViewer reports whether the viewer clientID is connected to the channel.
func (r *relay) hasViewer(arn, clientID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.channels[arn]
	return cs != nil && cs.viewers[clientID] != nil
}

// toMaster sends frame to the channel's master as it is now (it may have
// reconnected since the session began), through the fault rules as relayed
// frames go (a drop:to-master:action=SDP_OFFER rule drops a storage offer).
// from names the storage session in fault events.
func (r *relay) toMaster(arn, from string, action wire.Action, frame []byte) {
	if !r.e.faults.frame(arn, "", from, action, func() { r.toMasterNow(arn, frame) }) {
		r.toMasterNow(arn, frame)
	}
}

func (r *relay) toMasterNow(arn string, frame []byte) bool {
	r.mu.Lock()
	var p *peer
	if cs := r.channels[arn]; cs != nil {
		p = cs.master
	}
	r.mu.Unlock()
	if p == nil {
		return false
	}
	p.send(frame)
	return true
}

// toViewer sends frame to the viewer clientID, through the fault rules.
func (r *relay) toViewer(arn, clientID string, action wire.Action, frame []byte) {
	if !r.e.faults.frame(arn, clientID, clientID, action, func() { r.toViewerNow(arn, clientID, frame) }) {
		r.toViewerNow(arn, clientID, frame)
	}
}

func (r *relay) toViewerNow(arn, clientID string, frame []byte) bool {
	r.mu.Lock()
	var p *peer
	if cs := r.channels[arn]; cs != nil {
		p = cs.viewers[clientID]
	}
	r.mu.Unlock()
	if p == nil {
		return false
	}
	p.send(frame)
	return true
}

// toStorage lets the storage service take a WSS client's frame meant for
// one of its peers (called by peer.handle); it reports whether it did.
func (p *peer) toStorage(m wire.ClientMessage) bool {
	if p.role == "MASTER" {
		return p.r.e.storage.fromMaster(p.arn, m)
	}
	return p.r.e.storage.fromViewer(p.arn, p.clientID, m)
}

// storageTURN is the TURN URI the media server's peers use: the first
// server's UDP relay (the one transport every client side reaches).
func (e *Emulator) storageTURN() []string {
	return []string{"turn:" + e.turn.UDPAddr().String() + "?transport=udp"}
}
