package turnserver_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/kvsrtc/kvsrtc/emulator/internal/turnserver"
)

// exchange sends msg over UDP and returns the answer, or nil when none
// comes within wait.
func exchange(t *testing.T, addr net.Addr, msg *stun.Message, wait time.Duration) *stun.Message {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg.Raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBlock: a blocked UDP transport answers STUN Binding but not
// Allocate; blocked TCP and TLS close connections on accept. Unblocked,
// the same Allocate gets its 401 (the nonce challenge).
func TestBlock(t *testing.T) {
	cert, _ := selfSigned(t)
	start := func(block ...string) *turnserver.Server {
		s, err := turnserver.Start(turnserver.Options{Block: block, TLSConfig: tlsConfigFor(cert)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	allocate := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}, stun.Fingerprint)
	binding := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)

	open := start()
	if res := exchange(t, net.UDPAddrFromAddrPort(open.UDPAddr()), allocate, testTimeout); res == nil || res.Type.Class != stun.ClassErrorResponse {
		t.Fatalf("unblocked Allocate: %v", res)
	}

	blocked := start("udp", "tcp", "tls")
	udp := net.UDPAddrFromAddrPort(blocked.UDPAddr())
	if res := exchange(t, udp, binding, testTimeout); res == nil || res.Type != stun.BindingSuccess {
		t.Fatalf("Binding on blocked UDP: %v", res)
	}
	if res := exchange(t, udp, allocate, 300*time.Millisecond); res != nil {
		t.Fatalf("Allocate on blocked UDP answered: %v", res)
	}
	for _, addr := range []string{blocked.TCPAddr().String(), blocked.TLSAddr().String()} {
		c, err := net.DialTimeout("tcp", addr, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Errorf("blocked %s: read %v, want the connection closed", addr, err)
		}
		c.Close()
	}
	if err := turnserver.CheckBlock([]string{"sctp"}); err == nil {
		t.Error("CheckBlock accepted sctp")
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

func tlsConfigFor(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
