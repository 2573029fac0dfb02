package turnserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/turn/v5"
)

// errTCPRelay is returned for RFC 6062 TCP allocations. KVS clients reach
// the server over UDP, TCP or TLS but always ask for a UDP relay.
var errTCPRelay = errors.New("tcp relay allocations not supported")

// relayGenerator allocates relay sockets on the server's IP with
// OS-assigned ports and hands them to the tracker.
type relayGenerator struct {
	ip   netip.Addr
	t    *tracker
	wrap func(net.PacketConn) net.PacketConn // Options.WrapPacketConn
}

var _ turn.RelayAddressGenerator = (*relayGenerator)(nil)

// Validate implements turn.RelayAddressGenerator.
func (g *relayGenerator) Validate() error {
	if !g.ip.IsValid() {
		return errors.New("relay ip not set")
	}
	return nil
}

// AllocatePacketConn implements turn.RelayAddressGenerator. It binds
// conf.Network ("udp4" or "udp6") on the server IP.
func (g *relayGenerator) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	addr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(g.ip, uint16(conf.RequestedPort))) //nolint:gosec // port from pion, 0..65535
	pc, err := net.ListenUDP(conf.Network, addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen relay %s %s: %w", conf.Network, addr, err)
	}
	relayAddr := pc.LocalAddr()
	var raw net.PacketConn = pc
	if g.wrap != nil {
		raw = g.wrap(pc)
	}
	c, ok := newPacketConn(g.t, raw, false)
	if !ok {
		return nil, nil, net.ErrClosed
	}
	return c, relayAddr, nil
}

// AllocateListener implements turn.RelayAddressGenerator; TCP relays are
// not supported.
func (g *relayGenerator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPRelay
}

// AllocateConn implements turn.RelayAddressGenerator; TCP relays are not
// supported.
func (g *relayGenerator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPRelay
}
