package emulator

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// The TURN servers' sockets in latency mode (latency.go). Every packet
// the STUN/TURN server sends goes out 2×Latency late and nothing it reads
// is held: from outside that is the same as Latency each way on the
// client's link (a Binding or Allocate costs 2×Latency, a relayed packet
// from one client to another 2×Latency one way, as it crosses both
// clients' links), without a reader goroutine per socket. A packet from one
// relay socket to another (two relay-only peers) is a hop inside the
// service and is not delayed. Loss drops that fraction of the packets sent.

// wrapTURNPacketConn is turnserver.Options.WrapPacketConn.
func (e *Emulator) wrapTURNPacketConn(pc net.PacketConn) net.PacketConn {
	if !e.lat.on() {
		return pc
	}
	c := &delayedPacketConn{PacketConn: pc, l: &e.lat, local: pc.LocalAddr().String()}
	e.lat.sockets.Store(c.local, true)
	return c
}

// delayedPacketConn sends each packet late, or not at all.
type delayedPacketConn struct {
	net.PacketConn
	l     *latency
	local string // the socket's address, in latency.sockets

	mu     sync.Mutex
	closed bool
}

// WriteTo implements net.PacketConn: the packet is copied and sent when
// due; it reports success at once, as a send into a network does.
func (c *delayedPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	if c.l.loss > 0 && rand.Float64() < c.l.loss {
		c.l.lost.Add(1)
		return len(p), nil
	}
	d := c.l.delay(2 * c.l.d)
	if _, internal := c.l.sockets.Load(addr.String()); internal {
		// Relay to relay (two relay-only peers): a hop inside the
		// service; each peer's own link already pays its delay.
		d = 0
	}
	if d <= 0 {
		return c.PacketConn.WriteTo(p, addr)
	}
	b := append([]byte(nil), p...)
	c.l.wg.Add(1)
	time.AfterFunc(d, func() {
		defer c.l.wg.Done()
		c.l.packets.Add(1) // before the packet can reach the peer, so a client that has it sees it counted
		if _, err := c.PacketConn.WriteTo(b, addr); err != nil {
			c.l.packets.Add(-1)
		}
	})
	return len(p), nil
}

// Close implements net.PacketConn; packets still due are not sent.
func (c *delayedPacketConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.l.sockets.Delete(c.local)
	return c.PacketConn.Close()
}

// wrapTURNListener is turnserver.Options.WrapListener: it bounds idle
// TURN TCP/TLS connections and, in latency mode, delays what they send.
func (e *Emulator) wrapTURNListener(ln net.Listener) net.Listener {
	return &turnListener{Listener: ln, e: e}
}

type turnListener struct {
	net.Listener
	e *Emulator
}

// Accept implements net.Listener.
func (l *turnListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.e.lat.d > 0 || l.e.lat.jitter > 0 {
		c = l.e.lat.wrap(c, 0, 2*l.e.lat.d)
	}
	lim := l.e.opts.Limits
	return &idleConn{Conn: c, first: lim.HandshakeTimeout, idle: lim.TURNIdleTimeout}, nil
}

// idleConn closes a connection whose first bytes do not come within
// first, or that is then quiet for idle: every Read sets the deadline.
type idleConn struct {
	net.Conn
	first, idle time.Duration
	started     bool
}

// Read implements net.Conn.
func (c *idleConn) Read(b []byte) (int, error) {
	d := c.idle
	if !c.started {
		d = c.first
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.started = true
	}
	return n, err
}
