package session

import (
	"encoding/binary"
	"log/slog"
	"net"
	"sync"

	"github.com/pion/transport/v5"
)

// The connections that carry optimistic TURN permissions (turnperm.go):
// one for a TURN client's UDP socket, one for its TCP or TLS stream. Each
// reads the server on a goroutine of its own, so that an answer made here
// reaches a client already blocked reading the server.

// permNet is pion's network with the UDP sockets pion/ice opens for TURN
// clients wrapped (ListenPacket serves only those: pion/ice gather.go
// gatherCandidatesRelay; host and server-reflexive sockets use ListenUDP).
type permNet struct {
	transport.Net
	creds *turnCreds
	log   *slog.Logger
}

// ListenPacket implements transport.Net.
func (n permNet) ListenPacket(network, address string) (net.PacketConn, error) {
	pc, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return newPermPacketConn(pc, n.creds, n.log), nil
}

// frame is one datagram or TURN frame from the server.
type frame struct {
	b    []byte
	from net.Addr
}

// permReader is what both wrappers share: frames from the server, answers
// made here, and the end of reading.
type permReader struct {
	link   *permLink
	frames chan frame
	fakes  chan frame
	eof    chan struct{} // closed when reading the server failed; err says why
	err    error
	done   chan struct{}
	once   sync.Once
}

func newPermReader(l *permLink) *permReader {
	return &permReader{link: l, frames: make(chan frame), fakes: make(chan frame, maxPending),
		eof: make(chan struct{}), done: make(chan struct{})}
}

// deliver hands f to the client's next read; false when closed.
func (r *permReader) deliver(f frame) bool {
	select {
	case r.frames <- f:
		return true
	case <-r.done:
		return false
	}
}

func (r *permReader) fail(err error) {
	r.err = err
	close(r.eof)
}

// next is the client's next frame: an answer made here first.
func (r *permReader) next() (frame, error) {
	select {
	case f := <-r.fakes:
		return f, nil
	default:
	}
	select {
	case f := <-r.fakes:
		return f, nil
	case f := <-r.frames:
		return f, nil
	case <-r.eof:
		return frame{}, r.err
	case <-r.done:
		return frame{}, net.ErrClosed
	}
}

// sent runs after the client wrote b to the server.
func (r *permReader) sent(b []byte, to net.Addr) {
	if answer := r.link.outgoing(b, to); answer != nil {
		select {
		case r.fakes <- frame{b: answer, from: to}:
		default:
			r.link.forget(answer)
		}
	}
}

func (r *permReader) close() {
	r.once.Do(func() {
		close(r.done)
		r.link.close()
	})
}

// permPacketConn wraps a TURN client's UDP socket.
type permPacketConn struct {
	net.PacketConn
	r *permReader
}

func newPermPacketConn(pc net.PacketConn, creds *turnCreds, log *slog.Logger) *permPacketConn {
	l := &permLink{creds: creds, log: log, send: func(b []byte, to net.Addr) error {
		_, err := pc.WriteTo(b, to)
		return err
	}}
	c := &permPacketConn{PacketConn: pc, r: newPermReader(l)}
	go c.readLoop()
	return c
}

func (c *permPacketConn) readLoop() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.PacketConn.ReadFrom(buf)
		if err != nil {
			c.r.fail(err)
			return
		}
		if c.r.link.incoming(buf[:n]) {
			continue
		}
		if !c.r.deliver(frame{b: append([]byte(nil), buf[:n]...), from: from}) {
			return
		}
	}
}

// ReadFrom implements net.PacketConn.
func (c *permPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	f, err := c.r.next()
	if err != nil {
		return 0, nil, err
	}
	return copy(p, f.b), f.from, nil
}

// WriteTo implements net.PacketConn.
func (c *permPacketConn) WriteTo(b []byte, to net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(b, to)
	if err == nil {
		c.r.sent(b, to)
	}
	return n, err
}

// Close implements net.PacketConn.
func (c *permPacketConn) Close() error {
	c.r.close()
	return c.PacketConn.Close()
}

// permStreamConn wraps a TURN client's TCP or TLS connection, below pion's
// framing (turn.NewSTUNConn): it hands the client whole frames only, so an
// answer made here never splits one.
type permStreamConn struct {
	net.Conn
	r    *permReader
	rest []byte // what a short Read left of a frame
}

func newPermStreamConn(c net.Conn, creds *turnCreds, log *slog.Logger) *permStreamConn {
	l := &permLink{creds: creds, log: log, reliable: true, send: func(b []byte, _ net.Addr) error {
		_, err := c.Write(b)
		return err
	}}
	s := &permStreamConn{Conn: c, r: newPermReader(l)}
	go s.readLoop()
	return s
}

func (s *permStreamConn) readLoop() {
	buf := make([]byte, 64<<10)
	var acc []byte
	framed := true
	for {
		n, err := s.Conn.Read(buf)
		if n > 0 {
			acc = append(acc, buf[:n]...)
		}
		for len(acc) > 0 {
			size := turnFrameSize(acc)
			if !framed || size < 0 {
				// Not TURN framing: pass the bytes on as they are, and
				// let pion's framing say what is wrong.
				framed = false
				size = len(acc)
			} else if size == 0 || size > len(acc) {
				break // incomplete
			}
			f := acc[:size]
			if !framed || !s.r.link.incoming(f) {
				if !s.r.deliver(frame{b: append([]byte(nil), f...)}) {
					return
				}
			}
			acc = acc[size:]
		}
		if len(acc) == 0 {
			acc = acc[:0:0] // let a large frame's buffer go
		}
		if err != nil {
			s.r.fail(err)
			return
		}
	}
}

// turnFrameSize is the size of the STUN message or ChannelData message
// (padded to 4 bytes over TCP, RFC 8656 §12.5) at the start of b; 0 when
// b is too short to tell, -1 when b starts with neither.
func turnFrameSize(b []byte) int {
	switch {
	case len(b) < 4:
		return 0
	case b[0]&0xc0 == 0: // STUN
		if len(b) < 20 {
			return 0
		}
		return 20 + int(binary.BigEndian.Uint16(b[2:4]))
	case b[0] >= 0x40 && b[0] <= 0x7f: // ChannelData
		return 4 + (int(binary.BigEndian.Uint16(b[2:4]))+3)&^3
	default:
		return -1
	}
}

// Read implements net.Conn.
func (s *permStreamConn) Read(p []byte) (int, error) {
	if len(s.rest) == 0 {
		f, err := s.r.next()
		if err != nil {
			return 0, err
		}
		s.rest = f.b
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// Write implements net.Conn: pion writes one message per call.
func (s *permStreamConn) Write(b []byte) (int, error) {
	n, err := s.Conn.Write(b)
	if err == nil {
		s.r.sent(b, s.Conn.RemoteAddr())
	}
	return n, err
}

// Close implements net.Conn.
func (s *permStreamConn) Close() error {
	s.r.close()
	return s.Conn.Close()
}
