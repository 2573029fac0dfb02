package session

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// The fault-injecting TURN servers below answer as a TURN server would
// (RFC 8656 §9: CreatePermission, 438 with a new NONCE, 403), or not at
// all, so that each case the client no longer sees itself can be forced.

const (
	permUser  = "1700000000:dXNlcg=="
	permPass  = "c2VjcmV0LXBhc3N3b3Jk"
	permRealm = "kinesisvideo"
)

var permPeer = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 5000}

func permCreds() *turnCreds {
	c := &turnCreds{}
	c.add(permUser, permPass)
	return c
}

// permRequest builds a CreatePermission as pion/turn's client does
// (internal/client/udp_conn.go CreatePermissions).
func createPermission(t *testing.T, nonce string) *stun.Message {
	t.Helper()
	m, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodCreatePermission, stun.ClassRequest),
		xorPeer{stun.XORMappedAddress{IP: permPeer.IP, Port: permPeer.Port}},
		stun.NewUsername(permUser), stun.NewRealm(permRealm), stun.NewNonce(nonce),
		stun.NewLongTermIntegrity(permUser, permRealm, permPass), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reply builds a response to req of class c with attributes.
func reply(t *testing.T, req *stun.Message, c stun.MessageClass, attrs ...stun.Setter) []byte {
	t.Helper()
	setters := append([]stun.Setter{stun.NewTransactionIDSetter(req.TransactionID), stun.NewType(stun.MethodCreatePermission, c)}, attrs...)
	m, err := stun.Build(append(setters, stun.NewLongTermIntegrity(permUser, permRealm, permPass), stun.Fingerprint)...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// fakeTURN is a UDP TURN server the test drives by hand.
type fakeTURN struct {
	pc  net.PacketConn
	got chan received
}

type received struct {
	m    *stun.Message
	from net.Addr
}

func newFakeTURN(t *testing.T) *fakeTURN {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTURN{pc: pc, got: make(chan received, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() == nil {
				f.got <- received{m, from}
			}
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return f
}

func (f *fakeTURN) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-f.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the TURN server within 5 s")
		return received{}
	}
}

// readWithin reads one datagram from c, failing after 5 s.
func readWithin(t *testing.T, c net.PacketConn) []byte {
	t.Helper()
	return within(t, func(buf []byte) (int, error) {
		n, _, err := c.ReadFrom(buf)
		return n, err
	})
}

// within reads once with read, failing on an error or after 5 s.
func within(t *testing.T, read func([]byte) (int, error)) []byte {
	t.Helper()
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		buf := make([]byte, 1500)
		n, err := read(buf)
		ch <- res{buf[:n], err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.b
	case <-time.After(5 * time.Second):
		t.Fatal("nothing to read within 5 s")
		return nil
	}
}

func newClientConn(t *testing.T, log *slog.Logger) *permPacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := newPermPacketConn(pc, permCreds(), log)
	t.Cleanup(func() { c.Close() })
	return c
}

// checkAnswer asserts that b is a success response to req, signed with
// the long-term credential, as pion/turn's client checks it
// (Transaction.CheckIntegrity).
func checkAnswer(t *testing.T, b []byte, req *stun.Message) {
	t.Helper()
	m := &stun.Message{Raw: b}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	if m.Type != stun.NewType(stun.MethodCreatePermission, stun.ClassSuccessResponse) || m.TransactionID != req.TransactionID {
		t.Fatalf("got %v %x, want a CreatePermission success for %x", m.Type, m.TransactionID, req.TransactionID)
	}
	if err := stun.NewLongTermIntegrity(permUser, permRealm, permPass).Check(m); err != nil {
		t.Fatalf("answer's MESSAGE-INTEGRITY: %v", err)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		t.Fatalf("answer's FINGERPRINT: %v", err)
	}
}

// marker sends a Data indication from the server: the client's next read
// must be it, not a response swallowed before it.
func marker(t *testing.T, f *fakeTURN, to net.Addr, c net.PacketConn) {
	t.Helper()
	m := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodData, stun.ClassIndication))
	if _, err := f.pc.WriteTo(m.Raw, to); err != nil {
		t.Fatal(err)
	}
	got := &stun.Message{Raw: readWithin(t, c)}
	if err := got.Decode(); err != nil || got.Type.Method != stun.MethodData {
		t.Fatalf("client read %v (%v), want the Data indication: the server's answer must be swallowed", got.Type, err)
	}
}

func TestTURNPermissionAnsweredAtOnce(t *testing.T) {
	f := newFakeTURN(t)
	c := newClientConn(t, nil)
	req := createPermission(t, "n1")
	if _, err := c.WriteTo(req.Raw, f.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, readWithin(t, c), req) // before the server answered
	r := f.next(t)
	if r.m.TransactionID != req.TransactionID {
		t.Fatal("the request itself must reach the server")
	}
	if _, err := f.pc.WriteTo(reply(t, r.m, stun.ClassSuccessResponse), r.from); err != nil {
		t.Fatal(err)
	}
	marker(t, f, r.from, c)
	if n := c.r.link.outstanding(); n != 0 {
		t.Fatalf("%d requests still outstanding after the server's answer", n)
	}
}

func TestTURNPermissionStaleNonceSentAgain(t *testing.T) {
	f := newFakeTURN(t)
	c := newClientConn(t, nil)
	req := createPermission(t, "n1")
	if _, err := c.WriteTo(req.Raw, f.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, readWithin(t, c), req)
	r := f.next(t)
	stale := reply(t, r.m, stun.ClassErrorResponse, stun.CodeStaleNonce, stun.NewNonce("n2"), stun.NewRealm(permRealm))
	if _, err := f.pc.WriteTo(stale, r.from); err != nil {
		t.Fatal(err)
	}
	again := f.next(t)
	var nonce stun.Nonce
	if err := nonce.GetFrom(again.m); err != nil || nonce.String() != "n2" {
		t.Fatalf("re-sent request's nonce %q (%v), want the 438's n2", nonce, err)
	}
	if again.m.TransactionID == req.TransactionID {
		t.Fatal("re-sent request must be a new transaction")
	}
	if err := stun.NewLongTermIntegrity(permUser, permRealm, permPass).Check(again.m); err != nil {
		t.Fatalf("re-sent request's MESSAGE-INTEGRITY: %v", err)
	}
	peers, err := peerAddresses(again.m)
	if err != nil || len(peers) != 1 || !peers[0].IP.Equal(permPeer.IP) || peers[0].Port != permPeer.Port {
		t.Fatalf("re-sent request names %v (%v), want %v", peers, err, permPeer)
	}
	if _, err := f.pc.WriteTo(reply(t, again.m, stun.ClassSuccessResponse), again.from); err != nil {
		t.Fatal(err)
	}
	marker(t, f, again.from, c) // neither the 438 nor the success reached the client
	if n := c.r.link.outstanding(); n != 0 {
		t.Fatalf("%d requests still outstanding", n)
	}
}

func TestTURNPermissionLostRequestRetransmitted(t *testing.T) {
	f := newFakeTURN(t)
	c := newClientConn(t, nil)
	req := createPermission(t, "n1")
	if _, err := c.WriteTo(req.Raw, f.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, readWithin(t, c), req)
	first := f.next(t) // lost: not answered
	second := f.next(t)
	if second.m.TransactionID != first.m.TransactionID || !bytes.Equal(second.m.Raw, first.m.Raw) {
		t.Fatal("want the same request retransmitted")
	}
	if _, err := f.pc.WriteTo(reply(t, second.m, stun.ClassSuccessResponse), second.from); err != nil {
		t.Fatal(err)
	}
	marker(t, f, second.from, c)
	if n := c.r.link.outstanding(); n != 0 {
		t.Fatalf("%d requests still outstanding", n)
	}
}

func TestTURNPermissionRefusalLogged(t *testing.T) {
	f := newFakeTURN(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	c := newClientConn(t, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	req := createPermission(t, "n1")
	if _, err := c.WriteTo(req.Raw, f.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, readWithin(t, c), req)
	r := f.next(t)
	if _, err := f.pc.WriteTo(reply(t, r.m, stun.ClassErrorResponse, stun.CodeForbidden), r.from); err != nil {
		t.Fatal(err)
	}
	marker(t, f, r.from, c)
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "refused a permission") || !strings.Contains(out, "code=403") {
		t.Fatalf("log %q, want the refusal and its code", out)
	}
	if strings.Contains(out, permPass) || strings.Contains(out, permUser) {
		t.Fatalf("log names the TURN credential: %q", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A request signed with a credential the session was not given is not
// answered here: the client sees the server's own answer.
func TestTURNPermissionUnknownCredentialPassedThrough(t *testing.T) {
	f := newFakeTURN(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newPermPacketConn(pc, &turnCreds{}, slog.New(slog.DiscardHandler))
	defer c.Close()
	req := createPermission(t, "n1")
	if _, err := c.WriteTo(req.Raw, f.pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	r := f.next(t)
	if _, err := f.pc.WriteTo(reply(t, r.m, stun.ClassErrorResponse, stun.CodeForbidden), r.from); err != nil {
		t.Fatal(err)
	}
	got := &stun.Message{Raw: readWithin(t, c)}
	if err := got.Decode(); err != nil || got.Type.Class != stun.ClassErrorResponse {
		t.Fatalf("client read %v (%v), want the server's 403", got.Type, err)
	}
}

// Over TCP or TLS the client reads a byte stream that pion frames
// (turn.NewSTUNConn): answers made here go between whole frames, and the
// server's swallowed answer leaves the frames around it intact, however
// the stream is cut.
func TestTURNPermissionStreamFraming(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := newPermStreamConn(dialed, permCreds(), slog.New(slog.DiscardHandler))
	defer c.Close()
	conn := turn.NewSTUNConn(c)

	req := createPermission(t, "n1")
	if _, err := conn.WriteTo(req.Raw, nil); err != nil {
		t.Fatal(err)
	}
	read := func() []byte {
		t.Helper()
		return within(t, func(buf []byte) (int, error) {
			n, _, err := conn.ReadFrom(buf)
			return n, err
		})
	}
	checkAnswer(t, read(), req)

	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, err := srv.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], req.Raw) {
		t.Fatalf("server read %d bytes (%v), want the request", n, err)
	}
	// ChannelData of 5 bytes (padded to 8 over TCP), the answer, a Data
	// indication; written cut in the middle of the answer's header.
	chdata := []byte{0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0}
	answer := reply(t, req, stun.ClassSuccessResponse)
	data := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodData, stun.ClassIndication)).Raw
	stream := append(append(append([]byte{}, chdata...), answer...), data...)
	cut := len(chdata) + 7
	for _, part := range [][]byte{stream[:cut], stream[cut:]} {
		if _, err := srv.Write(part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // two TCP segments, not a timing assertion
	}
	if got := read(); !bytes.Equal(got, chdata) {
		t.Fatalf("first frame %x, want the ChannelData %x", got, chdata)
	}
	if got := read(); !bytes.Equal(got, data) {
		t.Fatalf("second frame %x, want the Data indication: the server's answer must be swallowed", got)
	}
}

// Against a real TURN server (the emulator's, pion/turn's server, with a
// 50 ms one-way delay so that a waiting client would be seen): pion/turn's
// own client over the wrapped socket allocates, gets its permission
// answered here, and the first packet to the peer arrives, so the server
// had installed the permission before the data.
func TestTURNPermissionRealServer(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{Latency: 50 * time.Millisecond})
	cfg := emulatortest.Config(e)
	out, err := kinesisvideo.NewFromConfig(cfg).CreateSignalingChannel(context.Background(),
		&kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("perm")})
	if err != nil {
		t.Fatal(err)
	}
	arn, err := channel.ParseARN(aws.ToString(out.ChannelARN))
	if err != nil {
		t.Fatal(err)
	}
	r := resolve.New(cfg, resolve.Options{STUNURL: "stun:" + e.TURN().UDPAddr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ep, err := r.Endpoints(ctx, arn, channel.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	ice, err := r.ICEServers(ctx, ep, "perm-viewer")
	if err != nil {
		t.Fatal(err)
	}
	var srv resolve.ICEServer
	var addr string
	for _, s := range ice.Servers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "transport=udp") {
				srv, addr = s, strings.TrimSuffix(strings.TrimPrefix(u, "turn:"), "?transport=udp")
			}
		}
	}
	if addr == "" {
		t.Fatalf("no turn:…udp in %+v", ice.Redacted())
	}
	creds := &turnCreds{}
	creds.add(srv.Username, srv.Credential)
	sock, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newPermPacketConn(sock, creds, slog.New(slog.DiscardHandler))
	defer c.Close() // pion's client leaves its Conn to the caller
	client, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: c,
		Username: srv.Username, Password: srv.Credential, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := client.AllocateWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := relay.WriteTo([]byte("first"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n := c.r.link.count(); n != 1 { // WriteTo returned: pion had its answer
		t.Fatalf("%d permission requests answered here, want 1", n)
	}
	got := readWithin(t, peer)
	if string(got) != "first" {
		t.Fatalf("peer got %q, want the first packet", got)
	}
	deadline := time.Now().Add(5 * time.Second) // bounded wait for the server's answer to be swallowed
	for c.r.link.outstanding() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server's answer to CreatePermission never came")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
