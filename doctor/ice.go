package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// Transport names of TURN URIs, as the checks and --relay-transport say them.
const (
	transportUDP  = "udp"  // turn:…?transport=udp
	transportTCP  = "tcp"  // turn:…?transport=tcp
	transportTLS  = "tls"  // turns:…?transport=tcp
	transportDTLS = "dtls" // turns:…?transport=udp
)

// transportOf names the transport of a TURN URI.
func transportOf(u *stun.URI) string {
	switch {
	case u.Scheme == stun.SchemeTypeTURNS && u.Proto == stun.ProtoTypeUDP:
		return transportDTLS
	case u.Scheme == stun.SchemeTypeTURNS:
		return transportTLS
	case u.Proto == stun.ProtoTypeTCP:
		return transportTCP
	}
	return transportUDP
}

// quietLogs keeps pion's loggers silent.
func quietLogs() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	f.Writer = io.Discard
	return f
}

// checkSTUN sends a binding request to the region's STUN server and reports
// the server-reflexive address it sees.
func (s *state) checkSTUN(ctx context.Context) Check {
	const name, metric = "stun", "srflxCandidateSetUpTime"
	region := s.region
	if s.arnOK {
		region = s.arn.Region
	}
	raw, err := s.r.STUNURL(region)
	if err != nil {
		return s.skipped(StepSTUN, name, metric, "no STUN URL: "+err.Error())
	}
	t0 := time.Now()
	addr, err := s.bind(ctx, raw)
	c := s.check(StepSTUN, name, metric, t0, time.Now())
	if err != nil {
		c.Status, c.Error = StatusFail, fmt.Sprintf("STUN binding with %s: %v", raw, err)
		c.Fix = "allow outbound UDP to " + strings.TrimPrefix(raw, "stun:") + ": without it there are no server-reflexive candidates and peers on different networks need TURN"
		return c
	}
	c.Status = StatusPass
	c.Detail = "server-reflexive address " + addr.String() + " from " + raw
	return c
}

// bind does one STUN binding over UDP, retransmitting every 250 ms to
// 2 s apart (RFC 8489's doubling), until StepTimeout.
func (s *state) bind(ctx context.Context, raw string) (net.Addr, error) {
	u, err := stun.ParseURI(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != stun.SchemeTypeSTUN {
		return nil, fmt.Errorf("%s is not a stun: URL", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	raddr, err := (&net.Resolver{}).LookupHost(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "udp", net.JoinHostPort(raddr[0], strconv.Itoa(u.Port)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	msg := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	buf := make([]byte, 1500)
	wait := 250 * time.Millisecond
	for {
		if _, err := conn.Write(msg.Raw); err != nil {
			return nil, err
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("no answer within %v", s.opts.StepTimeout)
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retransmit
				}
				return nil, err
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if res.Decode() != nil || res.TransactionID != msg.TransactionID {
				continue
			}
			var xor stun.XORMappedAddress
			if err := xor.GetFrom(res); err != nil {
				return nil, fmt.Errorf("answer without XOR-MAPPED-ADDRESS: %w", err)
			}
			return &net.UDPAddr{IP: xor.IP, Port: xor.Port}, nil
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// turnTarget is one TURN URI to allocate on, with its server's credentials.
type turnTarget struct {
	raw        string
	uri        *stun.URI
	transport  string
	user, pass string
}

// checkTURN allocates a relay on every distinct TURN URI, side by side.
func (s *state) checkTURN(ctx context.Context) []Check {
	var targets []turnTarget
	seen := map[string]bool{}
	for _, sv := range turnServers(s.ice) {
		for _, raw := range sv.URLs {
			if seen[raw] {
				continue
			}
			seen[raw] = true
			u, err := stun.ParseURI(raw)
			if err != nil || (u.Scheme != stun.SchemeTypeTURN && u.Scheme != stun.SchemeTypeTURNS) {
				continue
			}
			targets = append(targets, turnTarget{raw: raw, uri: u, transport: transportOf(u), user: sv.Username, pass: sv.Credential})
		}
	}
	s.progress("allocating TURN relays on %d URIs (up to %v)", len(targets), s.opts.StepTimeout)
	checks := make([]Check, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		s.mu.Lock()
		s.turnListed[t.transport] = true
		s.mu.Unlock()
		if t.transport == transportDTLS {
			// The service lists turns:…?transport=udp, but the C SDK skips
			// it (parseIceServer, src/source/Ice/IceUtils.c) and browsers
			// ignore it: no client a user runs relays over it.
			checks[i] = s.skipped(StepTURN, "turn dtls "+net.JoinHostPort(t.uri.Host, strconv.Itoa(t.uri.Port)),
				"relayCandidateSetUpTime", "TURN over DTLS (turns:…?transport=udp): the C SDK and browsers do not use it")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			relayed, err := s.allocate(ctx, t)
			c := s.check(StepTURN, fmt.Sprintf("turn %s %s", t.transport, net.JoinHostPort(t.uri.Host, strconv.Itoa(t.uri.Port))),
				"relayCandidateSetUpTime", t0, time.Now())
			if err != nil {
				c.Status, c.Error = StatusFail, "allocate on "+t.raw+": "+err.Error()
			} else {
				c.Status, c.Detail = StatusPass, "relayed address "+relayed.String()
				s.mu.Lock()
				s.turnOK[t.transport] = true
				s.mu.Unlock()
			}
			checks[i] = c
		}()
	}
	wg.Wait()
	var working []string
	for _, tr := range []string{transportUDP, transportTCP, transportTLS, transportDTLS} {
		if s.turnOK[tr] {
			working = append(working, tr)
		}
	}
	for i := range checks {
		if checks[i].Status != StatusFail {
			continue
		}
		t := targets[i]
		hostPort := net.JoinHostPort(t.uri.Host, strconv.Itoa(t.uri.Port))
		net := "UDP"
		if t.uri.Proto == stun.ProtoTypeTCP {
			net = "TCP"
		}
		if len(working) > 0 {
			checks[i].Fix = fmt.Sprintf("outbound %s to %s is blocked or unanswered: open it, or relay over %s, which works (--relay-transport %s)",
				net, hostPort, strings.Join(working, " or "), working[0])
		} else {
			checks[i].Fix = fmt.Sprintf("no TURN transport works: allow outbound %s to %s (and TCP 443 for TLS); without TURN, peers behind symmetric NATs cannot connect", net, hostPort)
		}
	}
	return checks
}

// allocate makes one TURN allocation over the target's transport and
// returns the relayed address. TURN over TLS trusts Options.RootCAs.
func (s *state) allocate(ctx context.Context, t turnTarget) (net.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	addr := net.JoinHostPort(t.uri.Host, strconv.Itoa(t.uri.Port))
	var pc net.PacketConn
	var err error
	switch t.transport {
	case transportUDP:
		// One family, the server's: a dual-stack socket makes pion ask
		// for an IPv6 relay (it infers the family from the local address).
		pc, err = net.ListenPacket(udpFamily(t.uri.Host), ":0")
	case transportTCP:
		var conn net.Conn
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			pc = turn.NewSTUNConn(conn)
		}
	case transportTLS:
		var conn net.Conn
		conn, err = (&tls.Dialer{Config: s.tlsConfig(t.uri.Host)}).DialContext(ctx, "tcp", addr)
		if err == nil {
			pc = turn.NewSTUNConn(conn)
		}
	case transportDTLS:
		pc, err = s.dialDTLS(ctx, t.uri.Host, addr)
	}
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Username: t.user, Password: t.pass,
		Conn: pc, LoggerFactory: quietLogs(),
	})
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		return nil, err
	}
	relay, err := client.AllocateWithContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v", s.opts.StepTimeout)
		}
		return nil, err
	}
	defer relay.Close()
	return relay.LocalAddr(), nil
}

// dialDTLS opens TURN over DTLS (turns:…?transport=udp), as pion's ICE
// agent does for that URI form (ice/v4 gather.go).
func (s *state) dialDTLS(ctx context.Context, host, addr string) (net.PacketConn, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP(udpFamily(host), nil)
	if err != nil {
		return nil, err
	}
	conn, err := dtls.ClientWithOptions(udp, raddr, dtls.WithServerName(host), dtls.WithRootCAs(s.opts.RootCAs),
		dtls.WithLoggerFactory(quietLogs()))
	if err != nil {
		udp.Close()
		return nil, err
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return &connPacket{Conn: conn, raddr: raddr}, nil
}

// connPacket is a connected net.Conn as a net.PacketConn.
type connPacket struct {
	net.Conn
	raddr net.Addr
}

func (c *connPacket) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.Read(p)
	return n, c.raddr, err
}

func (c *connPacket) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }

// udpFamily is "udp6" for an IPv6 literal host, else "udp4".
func udpFamily(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "udp6"
	}
	return "udp4"
}
