package turnserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tracker owns every socket pion/turn reads from, so that Close can close
// them all and wait until no pion goroutine is still inside one.
//
// pion's Server.Close only closes the configured listeners and returns at
// once: accepted TCP connections stay open (their goroutines keep running)
// and nothing can be waited on. Wrapping the sockets gives two things to
// wait for: calls in flight (busy) and loop readers that have not yet seen
// their terminal error (readers). A loop reader is a goroutine that reads
// one socket until the first error and then exits: pion's UDP read loop, its
// accept loops and each allocation's relay loop.
type tracker struct {
	mu      sync.Mutex
	idle    *sync.Cond // signalled when busy and readers may have reached 0
	closed  bool
	busy    int
	readers int
	socks   map[io.Closer]struct{}
}

func newTracker() *tracker {
	t := &tracker{socks: make(map[io.Closer]struct{})}
	t.idle = sync.NewCond(&t.mu)
	return t
}

// add registers c to be closed by closeAll. It reports false, having closed
// c, when the tracker is already closed.
func (t *tracker) add(c io.Closer) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = c.Close()
		return false
	}
	t.socks[c] = struct{}{}
	t.mu.Unlock()
	return true
}

func (t *tracker) remove(c io.Closer) {
	t.mu.Lock()
	delete(t.socks, c)
	t.mu.Unlock()
}

// enter and leave bracket every blocking call on a tracked socket.
func (t *tracker) enter() {
	t.mu.Lock()
	t.busy++
	t.mu.Unlock()
}

func (t *tracker) leave() {
	t.mu.Lock()
	t.busy--
	t.signalLocked()
	t.mu.Unlock()
}

// addReader counts a loop reader that will exit on its first read error.
func (t *tracker) addReader() {
	t.mu.Lock()
	t.readers++
	t.mu.Unlock()
}

func (t *tracker) readerDone() {
	t.mu.Lock()
	t.readers--
	t.signalLocked()
	t.mu.Unlock()
}

func (t *tracker) signalLocked() {
	if t.busy == 0 && t.readers == 0 {
		t.idle.Broadcast()
	}
}

// closeAll closes every registered socket; later add calls close theirs.
func (t *tracker) closeAll() error {
	t.mu.Lock()
	t.closed = true
	socks := make([]io.Closer, 0, len(t.socks))
	for c := range t.socks {
		socks = append(socks, c)
	}
	clear(t.socks)
	t.mu.Unlock()

	var errs []error
	for _, c := range socks {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// wait blocks until no call is in flight and every loop reader has seen its
// terminal error, or until limit passes. Call it after closeAll: closed
// sockets return at once, so the limit only guards against a pion reader
// that exits without a read error (pion has such paths for impossible
// cases); Close must not hang on one.
func (t *tracker) wait(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.idle.Broadcast()
		t.mu.Unlock()
	})
	defer stop()

	t.mu.Lock()
	defer t.mu.Unlock()
	for t.busy > 0 || t.readers > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("%d socket calls and %d read loops still running after %v", t.busy, t.readers, limit)
		}
		t.idle.Wait()
	}
	return nil
}

// openConns counts the tracked accepted connections.
func (t *tracker) openConns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for c := range t.socks {
		if _, ok := c.(*conn); ok {
			n++
		}
	}
	return n
}

// packetConn is a tracked net.PacketConn read by one loop reader.
type packetConn struct {
	net.PacketConn
	t *tracker
	// refuseDTLS answers DTLS handshakes with a fatal alert instead of
	// passing them to pion (see dtls.go).
	refuseDTLS bool

	mu        sync.Mutex
	reading   bool // a loop reader is counted for this socket
	done      bool // that reader has seen its terminal error
	closeOnce sync.Once
	closeErr  error
}

// newPacketConn wraps pc. expectReader counts its loop reader at once, for
// sockets whose reader pion starts in a goroutine that may not have run yet;
// otherwise the reader is counted at its first read. It reports false, with
// pc closed, when the tracker is closed.
func newPacketConn(t *tracker, pc net.PacketConn, expectReader bool) (*packetConn, bool) {
	c := &packetConn{PacketConn: pc, t: t}
	if !t.add(c) {
		return nil, false
	}
	if expectReader {
		c.reading = true
		t.addReader()
	}
	return c, true
}

// ReadFrom implements net.PacketConn.
func (c *packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	if !c.reading && !c.done {
		c.reading = true
		c.t.addReader()
	}
	c.mu.Unlock()

	c.t.enter()
	n, addr, err := c.PacketConn.ReadFrom(p)
	for err == nil && c.refuseDTLS && isDTLSHandshake(p[:n]) {
		c.refuse(addr)
		n, addr, err = c.PacketConn.ReadFrom(p)
	}
	c.t.leave()
	if err != nil {
		c.mu.Lock()
		if c.reading && !c.done {
			c.done = true
			c.t.readerDone()
		}
		c.mu.Unlock()
	}
	return n, addr, err
}

// WriteTo implements net.PacketConn.
func (c *packetConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.t.enter()
	defer c.t.leave()
	return c.PacketConn.WriteTo(p, addr)
}

// Close implements net.PacketConn; it is idempotent.
func (c *packetConn) Close() error {
	c.closeOnce.Do(func() {
		c.t.remove(c)
		c.closeErr = c.PacketConn.Close()
	})
	return c.closeErr
}

// listener is a tracked net.Listener read by one accept loop; it tracks the
// connections it accepts.
type listener struct {
	net.Listener
	t *tracker

	doneOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// newListener wraps ln and counts its accept loop. It reports false, with ln
// closed, when the tracker is closed.
func newListener(t *tracker, ln net.Listener) (*listener, bool) {
	l := &listener{Listener: ln, t: t}
	if !t.add(l) {
		return nil, false
	}
	t.addReader()
	return l, true
}

// Accept implements net.Listener.
func (l *listener) Accept() (net.Conn, error) {
	l.t.enter()
	c, err := l.Listener.Accept()
	l.t.leave()
	if err != nil {
		l.doneOnce.Do(l.t.readerDone)
		return nil, err
	}
	tc := &conn{Conn: c, t: l.t}
	// When the tracker closed while accepting, add closes tc: pion's
	// first read fails and its connection goroutine exits.
	l.t.add(tc)
	return tc, nil
}

// Close implements net.Listener; it is idempotent.
func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		l.t.remove(l)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

// handshakeTimeout bounds a TLS client's handshake, as pion's own step did.
const handshakeTimeout = 10 * time.Second

// conn is a tracked accepted connection.
type conn struct {
	net.Conn
	t *tracker

	handshaken atomic.Bool // for a *tls.Conn: the handshake succeeded
	closeOnce  sync.Once
	closeErr   error
}

// Read implements net.Conn. On a TLS connection the first Read completes
// the handshake first, within handshakeTimeout; its error is the read's.
func (c *conn) Read(p []byte) (int, error) {
	c.t.enter()
	defer c.t.leave()
	if tc, ok := c.Conn.(*tls.Conn); ok && !c.handshaken.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("tls handshake: %w", err)
		}
		c.handshaken.Store(true)
	}
	return c.Conn.Read(p)
}

// Write implements net.Conn.
func (c *conn) Write(p []byte) (int, error) {
	c.t.enter()
	defer c.t.leave()
	return c.Conn.Write(p)
}

// Close implements net.Conn; it is idempotent.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.t.remove(c)
		c.closeErr = c.Conn.Close()
		var oe *net.OpError
		if _, isTLS := c.Conn.(*tls.Conn); isTLS && errors.As(c.closeErr, &oe) {
			// The client is gone (reset, closed): tls.Conn.Close could not
			// write its close_notify, and closed the socket all the same.
			c.closeErr = nil
		}
	})
	return c.closeErr
}
