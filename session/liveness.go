package session

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// ICE liveness: how soon a peer that went silent (killed, unplugged, its
// NAT binding gone) is given up. pion's defaults (disconnected after 5 s,
// failed 25 s later, keepalive every 2 s) keep a dead viewer's slot, its
// tracks and its sending goroutines for 30 s, and keep a viewer waiting as
// long before it offers again to a master that restarted. A session sends
// a consent check (STUN binding request, RFC 7675) on the selected pair
// every ICEKeepalive, reports disconnected after ICEDisconnectedTimeout
// without a packet from the peer and failed ICEFailedTimeout after that:
// a silent peer is dropped 10 s after its last packet. Media, RTCP (every
// second or so) and the peer's own consent checks all count as packets, so
// only a 10 s outage drops a live peer. Options.SettingEngine may set other
// values (SettingEngine.SetICETimeouts).
const (
	ICEDisconnectedTimeout = 4 * time.Second
	ICEFailedTimeout       = 6 * time.Second
	ICEKeepalive           = time.Second
)

// setLiveness applies the ICE timeouts above.
func setLiveness(se *webrtc.SettingEngine) {
	se.SetICETimeouts(ICEDisconnectedTimeout, ICEFailedTimeout, ICEKeepalive)
}
