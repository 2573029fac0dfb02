package emulator

import (
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Latency mode (Options.Latency, Jitter, Loss; kvsrtc emulator --latency)
// puts each client Latency away from the emulator, each way, as far as
// user space can:
//
//   - HTTPS and WSS: every accepted connection is wrapped; the bytes a
//     client sends are handed to the server Latency after they arrived,
//     and the bytes the server writes go out Latency after the write. The
//     TLS handshake (ClientHello, ServerHello…Finished, the client's
//     Finished) and every request and response pay it, so a fresh TLS 1.3
//     connection costs 1 RTT of handshake plus 1 per request. The TCP
//     handshake cannot be delayed: the kernel answers the SYN before
//     Accept returns (no netem here), so TCP setup costs nothing.
//   - Relayed signaling frames cross two connections (sender → emulator
//     → recipient), so a frame takes 2×Latency one way.
//   - STUN and TURN (UDP, TCP and TLS listeners and the relay sockets):
//     each packet is sent Latency after the server sends it and read
//     Latency after it arrived; media relayed between two clients thus
//     takes 2×Latency one way. Loss drops that fraction of these packets.
//   - Not delayed: anything that does not pass through the emulator
//     (direct host or srflx candidate pairs between peers), and the IoT
//     credentials endpoint.
//
// Jitter adds a random [0, Jitter) per read, write or packet; a TCP
// stream stays in order (a later chunk is never due before an earlier).

// LatencyStats counts what latency mode delayed.
type LatencyStats struct {
	// Reads and Writes are the chunks of HTTPS/WSS bytes delayed in each
	// direction (one client request is usually one read; a TLS handshake
	// flight one read or write).
	Reads, Writes int64
	// Packets are the STUN/TURN packets delayed; Lost those dropped.
	Packets, Lost int64
}

// LatencyStats reports what latency mode has delayed so far.
func (e *Emulator) LatencyStats() LatencyStats {
	return LatencyStats{Reads: e.lat.reads.Load(), Writes: e.lat.writes.Load(),
		Packets: e.lat.packets.Load(), Lost: e.lat.lost.Load()}
}

// latency holds the emulator's latency mode state.
type latency struct {
	d, jitter time.Duration
	loss      float64
	wg        sync.WaitGroup // the delayed connections' goroutines
	sockets   sync.Map       // addresses of the delayed TURN sockets (turnlatency.go)

	reads, writes, packets, lost atomic.Int64
}

func (l *latency) on() bool { return l.d > 0 || l.jitter > 0 || l.loss > 0 }

// delay is one draw of a delay of base plus jitter.
func (l *latency) delay(base time.Duration) time.Duration {
	if l.jitter > 0 {
		return base + rand.N(l.jitter)
	}
	return base
}

// delayConn applies Options.Latency to an accepted connection.
func (e *Emulator) delayConn(c net.Conn) net.Conn {
	if e.lat.d <= 0 && e.lat.jitter <= 0 {
		return c
	}
	return e.lat.wrap(c, e.lat.d, e.lat.d)
}

// wrap delays what c reads by rd and what it writes by wd (plus jitter).
func (l *latency) wrap(c net.Conn, rd, wd time.Duration) *delayedConn {
	dc := &delayedConn{Conn: c, l: l, rd: rd, wd: wd, in: make(chan chunk, 16), out: make(chan chunk, 256), // a burst of frames written within one delay must not block the relay (peerQueue)
		changed: make(chan struct{}), closed: make(chan struct{})}
	l.wg.Add(2)
	go dc.readLoop()
	go dc.writeLoop()
	return dc
}

// chunk is bytes read or written, and when they are due.
type chunk struct {
	b   []byte
	due time.Time
	err error
}

// delayedConn delays a connection's bytes both ways. Deadlines are kept
// here, not on the socket, whose reads and writes run on their own
// goroutines.
type delayedConn struct {
	net.Conn
	l      *latency
	rd, wd time.Duration // read and write delays, before jitter

	in, out chan chunk

	rmu  sync.Mutex // one reader at a time
	head *chunk     // read from in, not yet due
	rest []byte     // what a short Read left of a due chunk
	rerr error

	mu        sync.Mutex
	rdl, wdl  time.Time
	changed   chan struct{} // closed and replaced when a deadline changes
	lastIn    time.Time     // due time of the last chunk read
	lastOut   time.Time     // of the last chunk written
	closed    chan struct{}
	closeOnce sync.Once
	writeErr  error
}

func (c *delayedConn) due(last *time.Time, base time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := time.Now().Add(c.l.delay(base))
	if d.Before(*last) {
		d = *last
	}
	*last = d
	return d
}

func (c *delayedConn) readLoop() {
	defer c.l.wg.Done()
	for {
		buf := make([]byte, 32<<10)
		n, err := c.Conn.Read(buf)
		if n > 0 {
			select {
			case c.in <- chunk{b: buf[:n], due: c.due(&c.lastIn, c.rd)}:
			case <-c.closed:
				return
			}
		}
		if err != nil {
			select {
			case c.in <- chunk{err: err, due: c.due(&c.lastIn, c.rd)}:
			case <-c.closed:
			}
			return
		}
	}
}

// writeLoop sends each chunk at its due time; after Close it sends what
// is queued, within the delay and a second more, then closes the socket.
func (c *delayedConn) writeLoop() {
	defer c.l.wg.Done()
	defer c.Conn.Close()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	send := func(ch chunk) bool {
		if wait := time.Until(ch.due); wait > 0 {
			t.Reset(wait)
			<-t.C
		}
		c.l.writes.Add(1) // before the bytes can reach the peer, so a client that has them sees them counted
		if _, err := c.Conn.Write(ch.b); err != nil {
			c.mu.Lock()
			c.writeErr = err
			c.mu.Unlock()
			return false
		}
		return true
	}
	for {
		select {
		case ch := <-c.out:
			_ = c.Conn.SetWriteDeadline(time.Now().Add(writeLimit))
			if !send(ch) {
				return
			}
		case <-c.closed:
			_ = c.Conn.SetWriteDeadline(time.Now().Add(c.wd + c.l.jitter + time.Second))
			for {
				select {
				case ch := <-c.out:
					if !send(ch) {
						return
					}
					continue
				default:
				}
				return
			}
		}
	}
}

// writeLimit bounds each delayed write on the socket (a client that
// stopped reading).
const writeLimit = 10 * time.Second

func (c *delayedConn) deadline(read bool) (time.Time, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		return c.rdl, c.changed
	}
	return c.wdl, c.changed
}

// Read returns the bytes the client sent, once they are due.
func (c *delayedConn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(c.rest) > 0 {
		n := copy(b, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	if c.rerr != nil {
		return 0, c.rerr
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		dl, changed := c.deadline(true)
		var expired <-chan time.Time
		if !dl.IsZero() {
			if !time.Now().Before(dl) {
				return 0, os.ErrDeadlineExceeded
			}
			dt := time.NewTimer(time.Until(dl))
			defer dt.Stop()
			expired = dt.C
		}
		var ready <-chan time.Time
		var in chan chunk
		if c.head == nil {
			in = c.in
		} else if wait := time.Until(c.head.due); wait > 0 {
			timer.Reset(wait)
			ready = timer.C
		} else {
			h := c.head
			c.head = nil
			if h.err != nil {
				c.rerr = h.err
				return 0, h.err
			}
			c.l.reads.Add(1)
			n := copy(b, h.b)
			c.rest = h.b[n:]
			return n, nil
		}
		select {
		case ch := <-in:
			c.head = &ch
		case <-ready:
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
}

// Write queues b to go out when due.
func (c *delayedConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	err := c.writeErr
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	ch := chunk{b: append([]byte(nil), b...), due: c.due(&c.lastOut, c.wd)}
	for {
		dl, changed := c.deadline(false)
		var expired <-chan time.Time
		if !dl.IsZero() {
			if !time.Now().Before(dl) {
				return 0, os.ErrDeadlineExceeded
			}
			dt := time.NewTimer(time.Until(dl))
			defer dt.Stop()
			expired = dt.C
		}
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		select {
		case c.out <- ch:
			return len(b), nil
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
}

// Close ends reads and writes at once; what was written still goes out
// at its due time, then the socket closes.
func (c *delayedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *delayedConn) setDeadline(read, write bool, t time.Time) {
	c.mu.Lock()
	if read {
		c.rdl = t
	}
	if write {
		c.wdl = t
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// SetDeadline implements net.Conn.
func (c *delayedConn) SetDeadline(t time.Time) error { c.setDeadline(true, true, t); return nil }

// SetReadDeadline implements net.Conn.
func (c *delayedConn) SetReadDeadline(t time.Time) error { c.setDeadline(true, false, t); return nil }

// SetWriteDeadline implements net.Conn.
func (c *delayedConn) SetWriteDeadline(t time.Time) error { c.setDeadline(false, true, t); return nil }
