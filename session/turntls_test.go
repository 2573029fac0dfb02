package session_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// TestTURNOverTLSTrustsTheCA: a viewer restricted to relay candidates over
// TURN over TLS (--force-turn --relay-transport tls) reaches the master
// through the emulator's turns: listener, whose certificate is signed by
// the emulator's private CA (the HTTPClient's RootCAs, as AWS_CA_BUNDLE
// sets them). pion alone trusts only the system pool there and gathers no
// relay candidate ("x509: certificate signed by unknown authority").
func TestTURNOverTLSTrustsTheCA(t *testing.T) {
	v := newEnv(t, "turns")
	liveMaster(t, v)
	var pc atomic.Pointer[webrtc.PeerConnection]
	var relayTLS atomic.Bool
	var once sync.Once
	_, tl := viewFrames(t, v, "v-turns", 10, func(o *session.ViewerOptions) {
		o.ForceTURN, o.RelayTransport = true, session.RelayTLS
		o.OnPeerConnection = func(_ string, p *webrtc.PeerConnection) { pc.Store(p) }
		o.OnFrame = func(media.Codec, media.Frame) {
			once.Do(func() { // while connected: the local candidate of the selected pair
				for _, s := range pc.Load().GetStats() {
					if c, ok := s.(webrtc.ICECandidateStats); ok && c.CandidateType == webrtc.ICECandidateTypeRelay && c.RelayProtocol == "tls" {
						relayTLS.Store(true)
					}
				}
			})
		}
	})
	if !tl.Has(session.StepFirstVideo) {
		t.Fatal("no first video frame")
	}
	if !relayTLS.Load() {
		t.Errorf("no relay candidate over TLS in the viewer's stats")
	}
}
