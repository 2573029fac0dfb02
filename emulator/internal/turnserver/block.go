package turnserver

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
)

// Transports Options.Block names.
const (
	BlockUDP = "udp" // turn:…?transport=udp
	BlockTCP = "tcp" // turn:…?transport=tcp
	BlockTLS = "tls" // turns:…?transport=tcp
)

// CheckBlock validates transport names for Options.Block.
func CheckBlock(names []string) error {
	for _, n := range names {
		switch strings.ToLower(n) {
		case BlockUDP, BlockTCP, BlockTLS:
		default:
			return fmt.Errorf("block TURN transport %q: want udp, tcp or tls", n)
		}
	}
	return nil
}

func blocked(names []string, transport string) bool {
	for _, n := range names {
		if strings.EqualFold(n, transport) {
			return true
		}
	}
	return false
}

// isBindingRequest reports a STUN Binding request (RFC 8489 §5: type
// 0x0001, magic cookie 0x2112A442).
func isBindingRequest(p []byte) bool {
	return len(p) >= 20 && binary.BigEndian.Uint16(p[0:2]) == 0x0001 && binary.BigEndian.Uint32(p[4:8]) == 0x2112A442
}

// udpBlocker drops every datagram but STUN Binding requests, as a firewall
// that lets STUN through but not TURN would look to a client: Allocate
// goes unanswered. (The emulator serves STUN and TURN on one UDP port; the
// service uses separate hosts.)
type udpBlocker struct{ net.PacketConn }

func (b udpBlocker) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(p)
		if err != nil || isBindingRequest(p[:n]) {
			return n, addr, err
		}
	}
}

// tcpBlocker closes every connection as soon as it is accepted.
type tcpBlocker struct{ net.Listener }

func (b tcpBlocker) Accept() (net.Conn, error) {
	for {
		c, err := b.Listener.Accept()
		if err != nil {
			return nil, err
		}
		_ = c.Close()
	}
}
