package session_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// csdkDTLSStartDelay models how long after its ICE agent selects a pair a
// C SDK peer starts its DTLS session: the ICE state machine moves to
// CONNECTED on its timer, and v1.12 starts DTLS on a thread pool
// (onIceConnectionStateChange, src/source/PeerConnection/PeerConnection.c).
const csdkDTLSStartDelay = 150 * time.Millisecond

// isDTLS reports whether b is a DTLS record (RFC 7983 §7: first byte
// 20–63).
func isDTLS(b []byte) bool { return len(b) > 0 && b[0] >= 20 && b[0] <= 63 }

// dtlsGate is the UDP socket of a peer that behaves as a C SDK peer does
// before its DTLS session starts: DTLS records that arrive are dropped
// (dtlsSessionProcessPacket returns STATUS_SSL_PACKET_BEFORE_DTLS_READY,
// src/source/Crypto/Dtls_openssl.c) and none is sent (the session sends its
// first flight when dtlsSessionStart runs). STUN passes.
type dtlsGate struct {
	net.PacketConn
	open    chan struct{}
	closed  chan struct{}
	once    sync.Once
	cOnce   sync.Once
	dropped atomic.Int64
}

func (g *dtlsGate) start() { g.once.Do(func() { close(g.open) }) }

func (g *dtlsGate) started() bool {
	select {
	case <-g.open:
		return true
	default:
		return false
	}
}

func (g *dtlsGate) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := g.PacketConn.ReadFrom(b)
		if err != nil || !isDTLS(b[:n]) || g.started() {
			return n, addr, err
		}
		g.dropped.Add(1)
	}
}

func (g *dtlsGate) WriteTo(b []byte, addr net.Addr) (int, error) {
	if isDTLS(b) {
		select {
		case <-g.open:
		case <-g.closed:
			return 0, net.ErrClosed
		}
	}
	return g.PacketConn.WriteTo(b, addr)
}

func (g *dtlsGate) Close() error {
	g.cOnce.Do(func() { close(g.closed) })
	return g.PacketConn.Close()
}

// newCSDKViewerPC is a pion PeerConnection set up as the C SDK's sample
// viewer: H.264 42e01f and Opus, SRTP_AES128_CM_SHA1_32 and _80
// (SSL_CTX_set_tlsext_use_srtp in Dtls_openssl.c), an ECDHE-ECDSA AES-GCM
// suite of its "HIGH" cipher list, an actpass offer (it becomes the DTLS
// server when answered active), and its UDP socket behind a dtlsGate that
// opens csdkDTLSStartDelay after its ICE agent connects.
func newCSDKViewerPC(t testing.TB) (*webrtc.PeerConnection, *dtlsGate, *atomic.Int64) {
	t.Helper()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	gate := &dtlsGate{PacketConn: udp, open: make(chan struct{}), closed: make(chan struct{})}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: gate})
	t.Cleanup(func() { _ = mux.Close() })
	se := webrtc.SettingEngine{}
	loopback(&se)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(mux)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_32, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	se.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{csdkH264, opus} {
		kind := webrtc.RTPCodecTypeVideo
		if c.MimeType == webrtc.MimeTypeOpus {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := me.RegisterCodec(c, kind); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	var iceToDTLS atomic.Int64 // ns from ICE connected to DTLS connected
	var iceAt atomic.Int64
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			iceAt.Store(time.Now().UnixNano())
			time.AfterFunc(csdkDTLSStartDelay, gate.start) // latency being modelled, not synchronisation
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			iceToDTLS.Store(time.Now().UnixNano() - iceAt.Load())
		}
	})
	return pc, gate, &iceToDTLS
}

// TestCSDKViewerDTLSFirstFlight plays a C SDK sample viewer against a
// master. The viewer drops DTLS records that come before its DTLS session
// starts, which happens a little after its ICE agent connects. A master
// that answers active sends its ClientHello at once and loses it, then
// waits pion's 1 s retransmission interval (the 1,065 ms ICE→DTLS gap
// measured with the real C SDK); the master must answer so that no flight
// of its reaches the viewer early. The check counts dropped records, not
// time; BenchmarkCSDKViewerDTLS measures the gap.
func TestCSDKViewerDTLSFirstFlight(t *testing.T) {
	v := newEnv(t, "csdk-viewer")
	liveMaster(t, v)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, gate, gap := newCSDKViewerPC(t)
	recvonly(t, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
	h := connectHandViewer(t, ctx, v, "csdk-viewer", pc)
	waitFor(t, 15*time.Second, "video packets", func() bool { return h.packets["video"].Load() >= 20 })
	if n := gate.dropped.Load(); n != 0 {
		t.Errorf("%d DTLS records reached the viewer before its DTLS session started (a C SDK viewer drops them; the master then waits 1 s to send again)", n)
	}
	if md := mediaLine(t, h.answer, "video"); md != nil {
		if setup, _ := md.Attribute("setup"); setup != "passive" {
			t.Errorf("answer a=setup:%s, want passive (the master is the DTLS server)", setup)
		}
	}
	t.Logf("ICE→DTLS on the viewer: %v", time.Duration(gap.Load()))
}

// BenchmarkCSDKViewerDTLS reports the C SDK-like viewer's ICE→DTLS gap
// (ms-ice-to-dtls, the mean over the runs), of which csdkDTLSStartDelay
// (150 ms) is the viewer's own start latency.
func BenchmarkCSDKViewerDTLS(b *testing.B) {
	v := newEnvWith(b, "csdk-bench", unlimited)
	liveMasterB(b, v)
	var total time.Duration
	n := 0
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pc, _, gap := newCSDKViewerPC(b)
		recvonly(b, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
		h := connectHandViewer(b, ctx, v, fmt.Sprintf("csdk-bench-%d", n), pc)
		waitFor(b, 15*time.Second, "DTLS", func() bool { return gap.Load() > 0 })
		total += time.Duration(gap.Load())
		n++
		_ = pc.Close()
		h.sig.Close()
		cancel()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms-ice-to-dtls")
}
