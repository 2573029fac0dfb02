package session

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// ICE liveness: how soon a peer that went silent (killed, unplugged, its
// NAT binding gone) is given up. pion's defaults (disconnected after 5 s
// without a packet, failed 25 s later, a consent check every 2 s) keep a
// dead viewer's slot, tracks and sending goroutines for 30 s, and keep a
// viewer waiting as long before it offers again to a master that
// restarted. A session sends a consent check (STUN binding request, RFC
// 7675) on the selected pair every ICEKeepalive; a connection that had
// come up and then heard nothing from its peer for ICEDisconnectedTimeout
// is disconnected, and is ended (ErrPeerFailed) when it stays so for
// ICEDeadTimeout more: a silent peer is dropped 10 s after its last
// packet. Media, RTCP (every second or so) and the peer's own consent
// checks all count as packets, so only a 10 s outage drops a live peer.
// The bound on connecting in the first place stays pion's (its failed
// timeout, 25 s, after the disconnected one): a burst of viewers whose
// candidates trickle at the service's 20 a second needs it.
// Options.SettingEngine may change pion's part (SetICETimeouts).
const (
	ICEDisconnectedTimeout = 4 * time.Second
	ICEDeadTimeout         = 6 * time.Second
	ICEKeepalive           = time.Second
	iceFailedTimeout       = 25 * time.Second // pion's default
)

// setLiveness applies the ICE timeouts above.
func setLiveness(se *webrtc.SettingEngine) {
	se.SetICETimeouts(ICEDisconnectedTimeout, iceFailedTimeout, ICEKeepalive)
}

// liveness ends the peer once ICE stayed disconnected for ICEDeadTimeout;
// it runs on every ICE state change.
func (p *peer) liveness(s webrtc.ICEConnectionState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		p.dead.Stop()
		p.dead = nil
	}
	if s != webrtc.ICEConnectionStateDisconnected {
		return
	}
	p.dead = time.AfterFunc(ICEDeadTimeout, func() {
		p.end(fmt.Errorf("%w: no packet from the peer for %v", ErrPeerFailed, ICEDisconnectedTimeout+ICEDeadTimeout))
	})
}
