package session

import (
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/resolve"
)

func TestCandidateFilterDropsWhatAddsNoPath(t *testing.T) {
	var f candidateFilter
	host := &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeHost, Protocol: webrtc.ICEProtocolUDP, Address: "10.0.0.5", Port: 5000}
	for _, tc := range []struct {
		name string
		c    *webrtc.ICECandidate
		keep bool
	}{
		{"host", host, true},
		{"the same host again", host, false},
		{"srflx at the host's address (no NAT)", &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeSrflx, Protocol: webrtc.ICEProtocolUDP,
			Address: "10.0.0.5", Port: 6000, RelatedAddress: "0.0.0.0", RelatedPort: 6000}, false},
		{"srflx at its own base", &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeSrflx, Protocol: webrtc.ICEProtocolUDP,
			Address: "10.0.0.9", Port: 7000, RelatedAddress: "10.0.0.9", RelatedPort: 7000}, false},
		{"srflx behind a NAT", &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeSrflx, Protocol: webrtc.ICEProtocolUDP,
			Address: "203.0.113.7", Port: 40000, RelatedAddress: "0.0.0.0", RelatedPort: 6001}, true},
		{"relay", &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeRelay, Protocol: webrtc.ICEProtocolUDP,
			Address: "198.51.100.1", Port: 50000, RelatedAddress: "203.0.113.7", RelatedPort: 40001}, true},
		{"the same relay through another URL", &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeRelay, Protocol: webrtc.ICEProtocolUDP,
			Address: "198.51.100.1", Port: 50000, RelatedAddress: "203.0.113.7", RelatedPort: 40002}, false},
		{"tcp host at the same address and port", &webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeHost, Protocol: webrtc.ICEProtocolTCP,
			Address: "10.0.0.5", Port: 5000}, true},
	} {
		if got := f.keep(tc.c); got != tc.keep {
			t.Errorf("%s: keep = %v, want %v", tc.name, got, tc.keep)
		}
	}
}

func TestDTLSCertificateReused(t *testing.T) {
	var d dtlsCert
	a, err := d.get()
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.get()
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a[0].GetFingerprints()
	fb, _ := b[0].GetFingerprints()
	if len(fa) == 0 || len(fb) == 0 || fa[0].Value != fb[0].Value {
		t.Errorf("fingerprints %v then %v: want one certificate for every peer connection", fa, fb)
	}
	cfg := rtcConfig(&Options{cert: &d}, resolve.ICEConfig{})
	if len(cfg.Certificates) != 1 {
		t.Fatalf("rtcConfig certificates %d, want the session's one", len(cfg.Certificates))
	}
	fc, _ := cfg.Certificates[0].GetFingerprints()
	if fc[0].Value != fa[0].Value {
		t.Errorf("rtcConfig certificate %v, want %v", fc, fa)
	}
}
