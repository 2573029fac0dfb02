package session

import "github.com/pion/webrtc/v4"

// masterAPIOptions are o with the SettingEngine a master needs on top of
// the caller's (which runs after it and may change it): the master answers
// a=setup:passive and is the DTLS server.
//
// pion answers a=setup:active by default and sends its ClientHello as soon
// as its own ICE agent has selected a pair. A C SDK viewer starts its DTLS
// session only when its ICE agent reaches CONNECTED, on its state-machine
// timer, and on a thread pool in v1.12 (onIceConnectionStateChange,
// src/source/PeerConnection/PeerConnection.c), and drops every DTLS record
// that comes before (dtlsSessionProcessPacket returns
// STATUS_SSL_PACKET_BEFORE_DTLS_READY, src/source/Crypto/Dtls_openssl.c).
// The master's first flight was lost and pion sent it again after its 1 s
// retransmission interval: DTLS completed 1,065 ms after ICE instead of
// 62 ms. As the server, the master waits for the viewer's ClientHello, sent
// when the viewer is ready; one that arrives before the master's own DTLS
// transport listens is queued by pion's mux (internal/mux pendingPackets),
// not lost. Browsers and pion viewers offer actpass and take either role.
func masterAPIOptions(o Options) *Options {
	user := o.SettingEngine
	o.SettingEngine = func(se *webrtc.SettingEngine) {
		_ = se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer) // fails only for other roles
		if user != nil {
			user(se)
		}
	}
	return &o
}
