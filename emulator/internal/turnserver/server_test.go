package turnserver_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/kvsrtc/kvsrtc/emulator/internal/turnserver"
)

// testTimeout bounds every network wait in these tests.
const testTimeout = 10 * time.Second

const testUserID = "v1:arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000"

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixture struct {
	srv    *turnserver.Server
	clock  *clock
	logs   *syncBuffer
	secret []byte
	certs  *x509.CertPool // set when TLS is served
}

// start runs a server with a fake clock, a known secret and every log line
// captured, closed by t.Cleanup.
func start(t testing.TB, withTLS bool) *fixture {
	t.Helper()
	f := &fixture{
		clock:  &clock{t: time.Now()},
		logs:   &syncBuffer{},
		secret: []byte("test-secret-0123456789-abcdefghij"),
	}
	opts := turnserver.Options{
		Secret: f.secret,
		Now:    f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4})),
	}
	if withTLS {
		cert, pool := selfSigned(t)
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		f.certs = pool
	}
	srv, err := turnserver.Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	f.srv = srv
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// selfSigned makes an ECDSA certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "turnserver test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// transport names how a client reaches the server.
type transport string

const (
	udp     transport = "udp"
	tcp     transport = "tcp"
	tlsOver transport = "tls"
)

// quietLogs keeps pion's client logs out of the test output.
type quietLogs struct{}

func (quietLogs) NewLogger(string) logging.LeveledLogger {
	l := logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, io.Discard)
	return l
}

// dial connects a pion TURN client over tr, listening, closed by t.Cleanup.
// It returns the client and its local (mapped) address.
func dial(t testing.TB, f *fixture, tr transport, username, password string) (*turn.Client, net.Addr) {
	t.Helper()
	var (
		conn   net.PacketConn
		server string
		local  net.Addr
	)
	switch tr {
	case udp:
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn, server, local = pc, f.srv.UDPAddr().String(), pc.LocalAddr()
	case tcp:
		d := net.Dialer{Timeout: testTimeout}
		c, err := d.Dial("tcp", f.srv.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		// pion's client speaks datagrams: STUNConn frames STUN and
		// ChannelData messages over the stream (RFC 5766 §2.1).
		conn, server, local = turn.NewSTUNConn(c), f.srv.TCPAddr().String(), c.LocalAddr()
	case tlsOver:
		d := tls.Dialer{
			NetDialer: &net.Dialer{Timeout: testTimeout},
			Config:    &tls.Config{RootCAs: f.certs, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", f.srv.TLSAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn, server, local = turn.NewSTUNConn(c), f.srv.TLSAddr().String(), c.LocalAddr()
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: server,
		TURNServerAddr: server,
		Conn:           conn,
		Username:       username,
		Password:       password,
		LoggerFactory:  quietLogs{},
	})
	if err != nil {
		_ = conn.Close()
		t.Fatalf("NewClient: %v", err)
	}
	if err := client.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		client.Close()
		_ = conn.Close() // ends the client's read loop
	})
	return client, local
}

// allocate runs one bounded Allocate; a successful relay is closed by
// t.Cleanup (before the client and the server).
func allocate(t testing.TB, client *turn.Client) (net.PacketConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	relay, err := client.AllocateWithContext(ctx)
	if err == nil {
		t.Cleanup(func() { _ = relay.Close() })
	}
	return relay, err
}

func TestAllocateAndRelay(t *testing.T) {
	for _, tr := range []transport{udp, tcp, tlsOver} {
		t.Run(string(tr), func(t *testing.T) {
			f := start(t, tr == tlsOver)
			user, pass, _ := f.srv.Credentials(300*time.Second, testUserID)
			client, _ := dial(t, f, tr, user, pass)

			relay, err := allocate(t, client)
			if err != nil {
				t.Fatalf("Allocate: %v", err)
			}
			if got := f.srv.Allocations(); got != 1 {
				t.Errorf("Allocations = %d, want 1", got)
			}
			relayAddr := relay.LocalAddr().(*net.UDPAddr).AddrPort()
			if relayAddr.Addr() != netip.MustParseAddr("127.0.0.1") || relayAddr.Port() == 0 {
				t.Errorf("relay address %v, want 127.0.0.1 with a port", relayAddr)
			}

			roundTrip(t, relay)
		})
	}
}

// roundTrip sends a datagram through relay to a local peer socket and one
// back from the peer to the relay address.
func roundTrip(t testing.TB, relay net.PacketConn) {
	t.Helper()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	deadline := time.Now().Add(testTimeout)
	buf := make([]byte, 1500)

	// WriteTo creates the permission (a TURN request), then sends.
	if _, err := relay.WriteTo([]byte("to peer"), peer.LocalAddr()); err != nil {
		t.Fatalf("relay WriteTo: %v", err)
	}
	_ = peer.SetReadDeadline(deadline)
	n, from, err := peer.ReadFrom(buf)
	if err != nil {
		t.Fatalf("peer ReadFrom: %v", err)
	}
	if string(buf[:n]) != "to peer" || from.String() != relay.LocalAddr().String() {
		t.Fatalf("peer got %q from %v, want %q from the relay %v", buf[:n], from, "to peer", relay.LocalAddr())
	}

	if _, err := peer.WriteTo([]byte("to client"), relay.LocalAddr()); err != nil {
		t.Fatalf("peer WriteTo: %v", err)
	}
	_ = relay.SetReadDeadline(deadline)
	n, from, err = relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("relay ReadFrom: %v", err)
	}
	if string(buf[:n]) != "to client" || from.String() != peer.LocalAddr().String() {
		t.Fatalf("client got %q from %v, want %q from the peer %v", buf[:n], from, "to client", peer.LocalAddr())
	}
}

func TestAllocateRejected(t *testing.T) {
	tests := []struct {
		name string
		// creds returns the username and password to present.
		creds func(t *testing.T, f *fixture) (string, string)
	}{
		{"wrong password", func(t *testing.T, f *fixture) (string, string) {
			user, _, _ := f.srv.Credentials(time.Minute, testUserID)
			_, other, _ := f.srv.Credentials(2*time.Minute, testUserID)
			return user, other
		}},
		{"other secret", func(t *testing.T, f *fixture) (string, string) {
			user, pass, _ := startOffline(t, []byte("another secret")).Credentials(time.Minute, testUserID)
			return user, pass
		}},
		{"expired", func(t *testing.T, f *fixture) (string, string) {
			user, pass, _ := f.srv.Credentials(time.Minute, testUserID)
			f.clock.Add(time.Minute + time.Second)
			return user, pass
		}},
		{"issued in the past", func(t *testing.T, f *fixture) (string, string) {
			user, pass, _ := f.srv.Credentials(-time.Second, testUserID)
			return user, pass
		}},
		{"no user id", func(t *testing.T, f *fixture) (string, string) {
			user, pass, _ := f.srv.Credentials(time.Minute, testUserID)
			secs, _, _ := strings.Cut(user, ":")
			return secs, pass
		}},
		{"expiry not a number", func(t *testing.T, f *fixture) (string, string) {
			return "soon:" + base64.StdEncoding.EncodeToString([]byte(testUserID)), "x"
		}},
		{"user id not base64", func(t *testing.T, f *fixture) (string, string) {
			return "99999999999:" + testUserID, "x"
		}},
	}
	for _, tr := range []transport{udp, tcp} {
		for _, tt := range tests {
			t.Run(string(tr)+"/"+tt.name, func(t *testing.T) {
				f := start(t, false)
				user, pass := tt.creds(t, f)
				client, _ := dial(t, f, tr, user, pass)

				relay, err := allocate(t, client)
				if err == nil {
					t.Fatalf("Allocate succeeded with relay %v", relay.LocalAddr())
				}
				var turnErr *stun.TurnError
				if !errors.As(err, &turnErr) || turnErr.ErrorCodeAttr.Code != 401 {
					t.Errorf("Allocate error = %v, want a 401 TURN error", err)
				}
				if got := f.srv.Allocations(); got != 0 {
					t.Errorf("Allocations = %d, want 0", got)
				}
				// A retransmitted request is rejected again, hence >= 1.
				if got := f.srv.AuthFailures(); got < 1 {
					t.Errorf("AuthFailures = %d, want >= 1", got)
				}
			})
		}
	}
}

// startOffline starts a second server only to mint credentials under
// another secret.
func startOffline(t *testing.T, secret []byte) *turnserver.Server {
	t.Helper()
	s, err := turnserver.Start(turnserver.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestExpiryOnlyGatesAllocate moves the clock past the credentials' expiry
// after allocating: a new permission (an authenticated CreatePermission)
// still works, a new allocation does not.
func TestExpiryOnlyGatesAllocate(t *testing.T) {
	f := start(t, false)
	user, pass, _ := f.srv.Credentials(time.Minute, testUserID)
	client, _ := dial(t, f, udp, user, pass)
	relay, err := allocate(t, client)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}

	f.clock.Add(time.Hour)
	roundTrip(t, relay)

	late, _ := dial(t, f, udp, user, pass)
	if relay, err := allocate(t, late); err == nil {
		t.Fatalf("Allocate with expired credentials succeeded: %v", relay.LocalAddr())
	}
}

func TestBinding(t *testing.T) {
	for _, tr := range []transport{udp, tcp, tlsOver} {
		t.Run(string(tr), func(t *testing.T) {
			f := start(t, tr == tlsOver)
			client, local := dial(t, f, tr, "", "")
			mapped, err := client.SendBindingRequest()
			if err != nil {
				t.Fatalf("SendBindingRequest: %v", err)
			}
			got := mapped.(*net.UDPAddr).AddrPort()
			want := netip.MustParseAddrPort(local.String())
			if got != want {
				t.Errorf("mapped address = %v, want the client's %v", got, want)
			}
		})
	}
}

func TestAddrs(t *testing.T) {
	f := start(t, false)
	if !f.srv.UDPAddr().IsValid() || !f.srv.TCPAddr().IsValid() {
		t.Errorf("UDPAddr %v, TCPAddr %v: want both served", f.srv.UDPAddr(), f.srv.TCPAddr())
	}
	if f.srv.TLSAddr().IsValid() {
		t.Errorf("TLSAddr = %v without TLSConfig, want zero", f.srv.TLSAddr())
	}
	for _, a := range []netip.AddrPort{f.srv.UDPAddr(), f.srv.TCPAddr()} {
		if a.Addr() != netip.MustParseAddr(turnserver.DefaultIP) || a.Port() == 0 {
			t.Errorf("address %v, want %s with an OS-assigned port", a, turnserver.DefaultIP)
		}
	}
	if f.srv.Realm() != turnserver.DefaultRealm {
		t.Errorf("Realm = %q, want %q", f.srv.Realm(), turnserver.DefaultRealm)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts turnserver.Options
	}{
		{"not an ip", turnserver.Options{IP: "localhost"}},
		{"unspecified", turnserver.Options{IP: "0.0.0.0"}},
		{"tls without certificate", turnserver.Options{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := turnserver.Start(tt.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestDefaultSecretIsRandom(t *testing.T) {
	a, b := startOffline(t, nil), startOffline(t, nil)
	userA, passA, _ := a.Credentials(time.Minute, testUserID)
	if err := b.Verify(userA, passA); err == nil {
		t.Error("two servers with generated secrets accept each other's passwords")
	}
	if err := a.Verify(userA, passA); err != nil {
		t.Errorf("Verify own credentials: %v", err)
	}
}

// TestCloseWithActiveClients closes the server under a live TCP allocation:
// Close returns, the client's connection ends, later Closes are no-ops and
// goleak (TestMain) finds no pion goroutine left.
func TestCloseWithActiveClients(t *testing.T) {
	f := start(t, false)
	user, pass, _ := f.srv.Credentials(time.Minute, testUserID)

	d := net.Dialer{Timeout: testTimeout}
	raw, err := d.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	client, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: f.srv.TCPAddr().String(),
		Conn:           turn.NewSTUNConn(raw),
		Username:       user,
		Password:       pass,
		LoggerFactory:  quietLogs{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	tcpRelay, err := client.AllocateWithContext(ctx)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	// Closing a client relay stops its refresh timers; it does not wait
	// for the (closed) server.
	defer tcpRelay.Close()
	udpClient, _ := dial(t, f, udp, user, pass)
	if _, err := allocate(t, udpClient); err != nil {
		t.Fatalf("Allocate over UDP: %v", err)
	}

	for range 2 {
		if err := f.srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	// The server closed the client's connection.
	_ = raw.SetReadDeadline(time.Now().Add(testTimeout))
	var ne net.Error
	if _, err := raw.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("client connection read after Close: %v, want EOF or reset", err)
	}
	// New connections are refused.
	if c, err := d.Dial("tcp", f.srv.TCPAddr().String()); err == nil {
		c.Close()
		t.Error("TCP listener still accepts after Close")
	}
}

// TestNoSecretsInLogs runs a success and each kind of failure with debug
// (and pion trace) logging on, then greps the log for every secret.
func TestNoSecretsInLogs(t *testing.T) {
	f := start(t, false)
	user, pass, _ := f.srv.Credentials(time.Minute, testUserID)
	_, wrong, _ := f.srv.Credentials(2*time.Minute, testUserID)

	ok, _ := dial(t, f, udp, user, pass)
	relay, err := allocate(t, ok)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	roundTrip(t, relay)
	bad, _ := dial(t, f, tcp, user, wrong)
	if _, err := allocate(t, bad); err == nil {
		t.Fatal("Allocate with a wrong password succeeded")
	}
	f.clock.Add(time.Hour)
	late, _ := dial(t, f, udp, user, pass)
	if _, err := allocate(t, late); err == nil {
		t.Fatal("Allocate with expired credentials succeeded")
	}

	logs := f.logs.String()
	if !strings.Contains(logs, "turn auth rejected") {
		t.Fatalf("no rejection logged; logs:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"password":        pass,
		"wrong password":  wrong,
		"secret":          string(f.secret),
		"secret (base64)": base64.StdEncoding.EncodeToString(f.secret),
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain the %s", name)
		}
	}
}

func BenchmarkAllocateUDP(b *testing.B) {
	f := start(b, false)
	user, pass, _ := f.srv.Credentials(time.Hour, testUserID)
	for b.Loop() {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		client, err := turn.NewClient(&turn.ClientConfig{
			TURNServerAddr: f.srv.UDPAddr().String(),
			Conn:           pc,
			Username:       user,
			Password:       pass,
			LoggerFactory:  quietLogs{},
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := client.Listen(); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		relay, err := client.AllocateWithContext(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		_ = relay.Close()
		client.Close()
		_ = pc.Close()
	}
	b.ReportMetric(float64(f.srv.Allocations())/float64(b.N), "allocations/op")
}
