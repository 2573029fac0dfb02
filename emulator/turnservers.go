package emulator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/kvsrtc/kvsrtc/emulator/internal/turnserver"
)

// servicePort is the one port the service uses for HTTPS, WSS, STUN and
// TURN (spec §3.3, §13).
const servicePort = 443

// Addresses of the service-shaped mode's TURN servers: not the HTTPS
// listener's 127.0.0.1, so that both can have UDP and TLS on 443 as the
// service's do.
const (
	serviceTURNAddress  = "127.0.0.2"
	serviceTURNAddress2 = "127.0.0.3"
)

// turnListen is where one TURN server listens.
type turnListen struct {
	ip       netip.Addr
	udpPort  int
	tlsPort  int
	extraUDP []string
}

// turnListens plans the two TURN servers GetIceServerConfig returns: two
// distinct servers, as the service's (§13: a master allocates a relay on
// each; the same server twice made every relay candidate a duplicate). In
// the service-shaped mode they listen on port 443 (UDP and TLS) wherever
// the HTTPS listener does not, and the first one also answers STUN on UDP
// 443 of the listen address, where the hosts-file line sends
// stun.kinesisvideo.<region>.<suffix> (§3.3: clients build that STUN URL
// themselves).
func (e *Emulator) turnListens() ([2]turnListen, error) {
	var out [2]turnListen
	for i, a := range []string{e.opts.TURNAddress, e.opts.TURNAddress2} {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return out, fmt.Errorf("TURN address %q: %w", a, err)
		}
		out[i].ip = ip.Unmap()
		if e.opts.ServicePorts {
			out[i].udpPort = servicePort
			// TCP 443 is the HTTPS listener's on its IP, and on every IP
			// when it listens on an unspecified address.
			if out[i].ip != e.listenIP && !listensOnAll(e.opts.Listen) {
				out[i].tlsPort = servicePort
			}
		}
	}
	if out[0].ip == out[1].ip && e.opts.ServicePorts {
		out[1].udpPort, out[1].tlsPort = 0, 0 // the first has 443
	}
	if e.opts.ServicePorts && out[0].ip != e.listenIP && out[1].ip != e.listenIP {
		out[0].extraUDP = []string{netip.AddrPortFrom(e.listenIP, servicePort).String()}
	}
	return out, nil
}

// turnIPs are the TURN servers' addresses, for the server certificate.
func (o Options) turnIPs() []net.IP {
	var ips []net.IP
	for _, a := range []string{o.TURNAddress, o.TURNAddress2} {
		if ip := net.ParseIP(a); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

// startTURN starts both TURN servers. They share the HMAC secret, so the
// credentials of either work on both.
func (e *Emulator) startTURN(secret []byte) error {
	plan, err := e.turnListens()
	if err != nil {
		return err
	}
	var servers [2]*turnserver.Server
	for i, l := range plan {
		o := turnserver.Options{
			IP: l.ip.String(), Secret: secret, Now: e.turnNow,
			Logger:  e.log.With("component", "turn", "server", i+1),
			UDPPort: l.udpPort, TLSPort: l.tlsPort, ExtraUDP: l.extraUDP,
			DisableTCP: !e.opts.TURNPlainTCP, Block: e.opts.BlockTURN,
			WrapPacketConn: e.wrapTURNPacketConn, WrapListener: e.wrapTURNListener, // turnlatency.go
		}
		if !e.opts.InsecureHTTP {
			o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{e.pki.cert}, MinVersion: tls.VersionTLS12}
		}
		if servers[i], err = turnserver.Start(o); err != nil {
			for _, s := range servers[:i] {
				_ = s.Close()
			}
			return fmt.Errorf("start TURN server %d on %s: %w", i+1, l.ip, err)
		}
	}
	e.turn, e.turn2 = servers[0], servers[1]
	e.stunAddr = e.turn.UDPAddr()
	if len(plan[0].extraUDP) > 0 {
		e.stunAddr = netip.MustParseAddrPort(plan[0].extraUDP[0])
	}
	return nil
}

// closeTURN stops the TURN servers that run.
func (e *Emulator) closeTURN() error {
	var errs []error
	for _, s := range []*turnserver.Server{e.turn, e.turn2} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// turnURIs lists one TURN server's URIs in the service's forms and order
// (§13): turn:…?transport=udp, turns:…?transport=udp, turns:…?transport=tcp;
// plain-TCP turn:…?transport=tcp only with Options.TURNPlainTCP (§3.1: at
// most 4 URIs per server).
//
// turns:…?transport=udp (TURN over DTLS) points at the UDP port, as the
// service's does, but is not served: the C SDK skips it (parseIceServer,
// src/source/Ice/IceUtils.c), browsers ignore it, and pion/ice, which dials
// it (gather.go), gets a fatal DTLS alert at once and goes on with the other
// URIs (turnserver dtls.go). Without TLS (InsecureHTTP) no turns: URI is
// listed.
func turnURIs(s *turnserver.Server) []string {
	uri := func(scheme string, a netip.AddrPort, transport string) string {
		return scheme + ":" + a.String() + "?transport=" + transport
	}
	uris := []string{uri("turn", s.UDPAddr(), "udp")}
	if a := s.TLSAddr(); a.IsValid() {
		uris = append(uris, uri("turns", s.UDPAddr(), "udp"), uri("turns", a, "tcp"))
	}
	if a := s.TCPAddr(); a.IsValid() {
		uris = append(uris, uri("turn", a, "tcp"))
	}
	return uris
}

// nextLoopback is the IPv4 loopback address after a (127.0.0.1 →
// 127.0.0.2), or a itself when there is none (IPv6, the end of 127/8, not
// loopback): the second TURN server then differs by its ports only.
func nextLoopback(a string) string {
	ip, err := netip.ParseAddr(a)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		return a
	}
	if n := ip.Next(); n.IsLoopback() && n.As4()[3] != 255 {
		return n.String()
	}
	return a
}

// listensOnAll reports whether a listen address is unspecified (0.0.0.0,
// ::, or no host).
func listensOnAll(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "" || err == nil && ip.IsUnspecified()
}

// portOf returns the port of a host:port address, or -1.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return -1
	}
	return n
}
