package turnserver

import "net"

// The UDP listeners refuse DTLS. The service lists
// "turns:host:443?transport=udp" (TURN over DTLS, spec §13) on the same port
// as "turn:…?transport=udp". The C SDK skips that URI (parseIceServer,
// src/source/Ice/IceUtils.c) and browsers do not implement it, but pion/ice
// dials it: gatherCandidatesRelay (pion/ice v4 gather.go) runs a DTLS
// handshake to the port and waits for it until gathering ends. pion/turn
// drops the ClientHello as a malformed STUN message, so a pion peer's
// gathering would stall on the URI (and a non-trickle offer with it).
//
// The emulator does not serve TURN over DTLS. It answers each DTLS
// ClientHello with a fatal handshake_failure alert instead, which pion's
// DTLS client reports at once as a failed handshake: the URI costs one
// round trip and a logged warning, and the peer goes on with its other
// candidates.

// dtlsAlert is a DTLS 1.2 record (RFC 6347 §4.1) in epoch 0: content type
// alert (21), version 254.253, epoch 0, sequence 0, length 2; alert level
// fatal (2), description handshake_failure (40) (RFC 5246 §7.2).
var dtlsAlert = []byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40}

// isDTLSHandshake reports whether p is a DTLS handshake record: first byte
// 22 (RFC 7983 puts 20–63 in DTLS's range, STUN at 0–3 and ChannelData at
// 64–79), a DTLS version (major 254) and a full 13-byte record header.
func isDTLSHandshake(p []byte) bool {
	return len(p) >= 13 && p[0] == 22 && p[1] == 0xfe
}

// refuse answers a DTLS handshake from addr with the alert.
func (c *packetConn) refuse(addr net.Addr) {
	_, _ = c.PacketConn.WriteTo(dtlsAlert, addr)
}
