package session

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// What keeps a session's first frame off work that is not on its critical
// path (README, Performance): a DTLS certificate made before the offer and
// reused, trickled candidates that add no path left out, and DTLS without
// the HelloVerify round trip unless Options.DTLSHelloVerify asks for it.

// certRenewBefore is how long before its expiry a reused certificate is
// replaced (pion's certificates last a month).
const certRenewBefore = 24 * time.Hour

// dtlsCert is the DTLS certificate a Master or a Viewer gives each of its
// peer connections: pion makes a new ECDSA key and certificate in every
// NewPeerConnection otherwise, on the path from the offer to the answer.
// One certificate for all of a session's connections is what browsers do
// (one per origin): the fingerprint in each SDP names it, and each DTLS
// handshake still makes its own keys (ECDHE).
type dtlsCert struct {
	mu   sync.Mutex
	cert *webrtc.Certificate
}

// get returns the certificate, made now if there is none or it expires
// within certRenewBefore.
func (d *dtlsCert) get() ([]webrtc.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cert == nil || time.Until(d.cert.Expires()) < certRenewBefore {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		c, err := webrtc.GenerateCertificate(k)
		if err != nil {
			return nil, err
		}
		d.cert = c
	}
	return []webrtc.Certificate{*d.cert}, nil
}

// candidateFilter drops the local candidates that add no path before they
// are trickled, as pruneCandidates does for a complete SDP: a
// server-reflexive candidate at a host candidate's address or at its own
// base (no NAT between the peer and the STUN server, RFC 8445 §5.1.3: pion
// gathers one per STUN and TURN/UDP URL, three on the emulator, each
// making the remote side check as many pairs more), and a candidate at a
// transport address already sent.
type candidateFilter struct {
	mu    sync.Mutex
	hosts map[string]bool // protocol + IP of host candidates
	sent  map[string]bool // protocol + IP:port already trickled
}

// keep reports whether c is worth sending, and remembers it.
func (f *candidateFilter) keep(c *webrtc.ICECandidate) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hosts == nil {
		f.hosts, f.sent = map[string]bool{}, map[string]bool{}
	}
	proto := c.Protocol.String()
	addr := proto + " " + net.JoinHostPort(c.Address, strconv.Itoa(int(c.Port)))
	switch {
	case f.sent[addr]:
		return false
	case c.Typ == webrtc.ICECandidateTypeSrflx &&
		(f.hosts[proto+" "+c.Address] || c.Address == c.RelatedAddress && c.Port == c.RelatedPort):
		return false
	}
	if c.Typ == webrtc.ICECandidateTypeHost {
		f.hosts[proto+" "+c.Address] = true
	}
	f.sent[addr] = true
	return true
}

// setFastDTLS leaves out the HelloVerifyRequest (a cookie exchange, one
// round trip) unless hello is set. The exchange keeps a DTLS server from
// sending its large flight to a spoofed source (amplification, RFC 6347
// §4.2.1); in WebRTC DTLS runs only over the pair ICE checked, and pion's
// ICE passes non-STUN packets only from a remote candidate that signaling
// named or that answered a check with the ICE password, so a spoofed source
// gets nothing from it.
func setFastDTLS(se *webrtc.SettingEngine, hello bool) {
	se.SetDTLSInsecureSkipHelloVerify(!hello)
}
