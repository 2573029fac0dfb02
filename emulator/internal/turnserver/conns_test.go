package turnserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// waitConns polls until the server holds want open TCP/TLS connections.
func waitConns(t *testing.T, f *fixture, want int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for f.srv.OpenConns() != want {
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d client connections after %v, want %d", f.srv.OpenConns(), testTimeout, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestTLSConnsReleased is issue 11's fd leak: clients that refuse the
// server's certificate (as pion's TURN TLS client did with the emulator's
// private CA) and clients whose allocation ends must leave no connection
// open on the server. pion/turn's own handshake step returned without
// closing the connection, so each refusing client left a CLOSE-WAIT socket.
func TestTLSConnsReleased(t *testing.T) {
	f := start(t, true)
	user, pass, _ := f.srv.Credentials(time.Minute, testUserID)
	const n = 10
	before := openFDs(t)

	for range n {
		// An empty pool trusts nothing: the client aborts the handshake.
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: testTimeout},
			Config: &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		c, err := d.DialContext(ctx, "tcp", f.srv.TLSAddr().String())
		cancel()
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("dial with an empty pool: %v, want an unknown-authority error", err)
		}
	}
	waitConns(t, f, 0)

	// Successful allocations over TLS, then the clients go away.
	for range n {
		t.Run("alloc", func(t *testing.T) {
			client, _ := dial(t, f, tlsOver, user, pass)
			if _, err := allocate(t, client); err != nil {
				t.Fatalf("Allocate over TLS: %v", err)
			}
		})
	}
	waitConns(t, f, 0)
	deadline := time.Now().Add(testTimeout)
	for openFDs(t) > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d fds open after %d refused and %d released TLS clients, %d before", openFDs(t), n, n, before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTLSHandshakeSilentClientCounted: a client that connects and goes away
// before its ClientHello is released at once (pion's own handshake step held
// it for 10 s and then left it open).
func TestTLSHandshakeSilentClientCounted(t *testing.T) {
	f := start(t, true)
	c, err := net.DialTimeout("tcp", f.srv.TLSAddr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	waitConns(t, f, 1)
	c.Close()
	// The server's handshake read fails at once on the closed socket.
	waitConns(t, f, 0)
}

// TestDTLSRefused: a DTLS client (pion/ice dials turns:…?transport=udp this
// way, gather.go) gets a fatal alert at once instead of retransmitting until
// its context ends; STUN on the same port still works.
func TestDTLSRefused(t *testing.T) {
	f := start(t, false)
	raddr := net.UDPAddrFromAddrPort(f.srv.UDPAddr())
	pc, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := dtls.ClientWithOptions(dtlsPacketConn{pc}, raddr, dtls.WithInsecureSkipVerify(true))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.HandshakeContext(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "alert") {
		t.Fatalf("DTLS handshake: %v (context %v), want a fatal alert before the deadline", err, ctx.Err())
	}
	user, pass, _ := f.srv.Credentials(time.Minute, testUserID)
	client, _ := dial(t, f, udp, user, pass)
	if _, err := allocate(t, client); err != nil {
		t.Fatalf("Allocate over UDP after a DTLS attempt: %v", err)
	}
}

// dtlsPacketConn adapts a connected UDP socket to net.PacketConn, as
// pion/ice's fakenet.PacketConn does.
type dtlsPacketConn struct{ *net.UDPConn }

func (c dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.Read(p)
	return n, c.RemoteAddr(), err
}

func (c dtlsPacketConn) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }
