package session

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/stun/v4"
)

// Optimistic TURN permissions (Options.WaitTURNPermissions turns them off).
//
// pion/turn's relayed connection sends the first packet to a new peer IP
// only after a CreatePermission round trip to the TURN server
// (internal/client/udp_conn.go createPermission: "this would block a
// bit"), and pion/ice sends its connectivity checks from the ICE agent's
// one loop (agent.go pingAllCandidates): every (local relay, new remote
// IP) pair holds every other check, the host pair's too, for a round trip
// to the TURN server. With the service's two TURN servers over UDP and
// TLS, that is 4 relays × the remote side's distinct IPs, about 9 round
// trips before the host pair is checked at a 100 ms RTT (README,
// Performance). Browsers do not wait: libwebrtc sends CreatePermission and
// the data behind it at once.
//
// So the connection a TURN client talks to its server over is wrapped:
// when the client sends a CreatePermission request, the request goes to
// the server and a success response, signed with the same long-term
// credential, is handed back to the client at once; the server's own
// answer is then swallowed. The server processes the request before the
// data the client sends after it (TCP and TLS keep the order; UDP on one
// path almost always does, and a check that overtakes it is only lost and
// retried), so nothing is lost that waiting would have delivered. What the
// client no longer sees is handled here: a lost request is retransmitted
// over UDP (RFC 8489 §6.2.1, pion's 200 ms doubling, 7 sends); a 438
// (stale nonce) is answered by sending the request again with the new
// nonce; any other refusal (403: the server forbids that peer) is logged,
// and the checks through that relay to that peer fail as they would have.

const (
	permRTO      = 200 * time.Millisecond // pion/turn client.go defaultRTO
	permMaxSends = 7                      // RFC 8489 Rc
	permRetries  = 2                      // 438 answers followed per request
	maxPending   = 64                     // outstanding requests per connection
)

// turnCreds maps TURN usernames to passwords, learned from the ICE
// servers the peer connections are configured with.
type turnCreds struct {
	mu   sync.Mutex
	pass map[string]string
}

func (c *turnCreds) add(user, pass string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pass == nil {
		c.pass = map[string]string{}
	}
	if len(c.pass) > 256 { // credentials rotate; keep the newest few
		clear(c.pass)
	}
	c.pass[user] = pass
}

func (c *turnCreds) password(user string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pass[user]
	return p, ok
}

// permLink is the state both wrappers share: the requests answered here
// whose real answer has not come.
type permLink struct {
	creds    *turnCreds
	log      *slog.Logger
	reliable bool                              // TCP or TLS: no retransmissions
	send     func(b []byte, to net.Addr) error // to the server

	mu       sync.Mutex
	pending  map[[stun.TransactionIDSize]byte]*permRequest
	answered int // requests answered here
	closed   bool
}

type permRequest struct {
	to          net.Addr
	user, realm string
	integrity   stun.MessageIntegrity
	msg         *stun.Message
	sends       int
	stale       int
	timer       *time.Timer
}

// outgoing looks at a message the client sends to the server, after it
// was sent: for a CreatePermission request it can sign an answer to, it
// returns that answer for the client.
func (l *permLink) outgoing(b []byte, to net.Addr) []byte {
	if !stun.IsMessage(b) || binary.BigEndian.Uint16(b[0:2]) != stun.NewType(stun.MethodCreatePermission, stun.ClassRequest).Value() {
		return nil
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return nil
	}
	var user stun.Username
	var realm stun.Realm
	if user.GetFrom(m) != nil || realm.GetFrom(m) != nil {
		return nil
	}
	pass, ok := l.creds.password(user.String())
	if !ok {
		return nil
	}
	r := &permRequest{to: to, user: user.String(), realm: realm.String(), msg: m, sends: 1,
		integrity: stun.NewLongTermIntegrity(user.String(), realm.String(), pass)}
	answer, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID),
		stun.NewType(stun.MethodCreatePermission, stun.ClassSuccessResponse), r.integrity, stun.Fingerprint)
	if err != nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.pending) >= maxPending {
		return nil // the client waits for the server, as without this
	}
	if l.pending == nil {
		l.pending = map[[stun.TransactionIDSize]byte]*permRequest{}
	}
	l.pending[m.TransactionID] = r
	l.answered++
	l.retransmitLater(r, permRTO)
	return answer.Raw
}

// outstanding counts the requests answered here whose real answer has not
// come; count, all those answered here.
func (l *permLink) outstanding() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

func (l *permLink) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

// retransmitLater sends r again after wait unless its answer came (UDP
// only). l.mu is held.
func (l *permLink) retransmitLater(r *permRequest, wait time.Duration) {
	if l.reliable {
		return
	}
	id := r.msg.TransactionID
	r.timer = time.AfterFunc(wait, func() {
		l.mu.Lock()
		if l.closed || l.pending[id] != r {
			l.mu.Unlock()
			return
		}
		if r.sends >= permMaxSends {
			delete(l.pending, id)
			l.mu.Unlock()
			l.log.Debug("turn: no answer to a permission request", "server", r.to.String(), "sends", permMaxSends)
			return
		}
		r.sends++
		l.retransmitLater(r, 2*wait)
		l.mu.Unlock()
		_ = l.send(r.msg.Raw, r.to)
	})
}

// incoming looks at a frame from the server and reports whether it is the
// answer to a request answered here, which the client must not see.
func (l *permLink) incoming(b []byte) bool {
	if !stun.IsMessage(b) {
		return false
	}
	var id [stun.TransactionIDSize]byte
	copy(id[:], b[8:20])
	l.mu.Lock()
	r, ok := l.pending[id]
	if ok {
		delete(l.pending, id)
		if r.timer != nil {
			r.timer.Stop()
		}
	}
	l.mu.Unlock()
	if !ok {
		return false
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil || m.Type.Class != stun.ClassErrorResponse {
		return true
	}
	var code stun.ErrorCodeAttribute
	_ = code.GetFrom(m)
	var nonce stun.Nonce
	if code.Code == stun.CodeStaleNonce && r.stale < permRetries && nonce.GetFrom(m) == nil {
		if err := l.again(r, nonce); err == nil {
			return true
		}
	}
	l.log.Debug("turn: the server refused a permission", "server", r.to.String(), "code", int(code.Code), "reason", string(code.Reason))
	return true
}

// again sends r once more with the server's new nonce, as a new
// transaction.
func (l *permLink) again(r *permRequest, nonce stun.Nonce) error {
	setters := []stun.Setter{stun.TransactionID, stun.NewType(stun.MethodCreatePermission, stun.ClassRequest)}
	peers, err := peerAddresses(r.msg)
	if err != nil {
		return err
	}
	for _, p := range peers {
		setters = append(setters, p)
	}
	setters = append(setters, stun.NewUsername(r.user), stun.NewRealm(r.realm), nonce, r.integrity, stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		return err
	}
	n := &permRequest{to: r.to, user: r.user, realm: r.realm, integrity: r.integrity, msg: m, sends: 1, stale: r.stale + 1}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	if l.pending == nil {
		l.pending = map[[stun.TransactionIDSize]byte]*permRequest{}
	}
	l.pending[m.TransactionID] = n
	l.retransmitLater(n, permRTO)
	l.mu.Unlock()
	return l.send(m.Raw, r.to)
}

// xorPeer is one XOR-PEER-ADDRESS (RFC 8656 §18.3): XOR-MAPPED-ADDRESS's
// encoding under another attribute type.
type xorPeer struct{ stun.XORMappedAddress }

func (p xorPeer) AddTo(m *stun.Message) error { return p.AddToAs(m, stun.AttrXORPeerAddress) }

// peerAddresses decodes every XOR-PEER-ADDRESS of m (a CreatePermission
// may name several).
func peerAddresses(m *stun.Message) ([]xorPeer, error) {
	var out []xorPeer
	for _, a := range m.Attributes {
		if a.Type != stun.AttrXORPeerAddress {
			continue
		}
		one := &stun.Message{TransactionID: m.TransactionID}
		one.WriteHeader()
		one.Add(stun.AttrXORPeerAddress, a.Value)
		var p xorPeer
		if err := p.GetFromAs(one, stun.AttrXORPeerAddress); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("no peer address")
	}
	return out, nil
}

// close stops the retransmissions.
func (l *permLink) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for id, r := range l.pending {
		if r.timer != nil {
			r.timer.Stop()
		}
		delete(l.pending, id)
	}
}

// forget drops the request answer answers: the answer could not be handed
// to the client, which then waits for the server's.
func (l *permLink) forget(answer []byte) {
	var id [stun.TransactionIDSize]byte
	copy(id[:], answer[8:20])
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.pending[id]; ok {
		if r.timer != nil {
			r.timer.Stop()
		}
		delete(l.pending, id)
	}
}
