package turnserver

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// closeWaitLimit bounds how long Close waits for pion's goroutines to leave
// the closed sockets; they normally do within microseconds.
const closeWaitLimit = 5 * time.Second

// Server is a running STUN/TURN server. Create it with Start and stop it
// with Close. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	turn    *turn.Server
	tracker *tracker

	udpAddr netip.AddrPort
	tcpAddr netip.AddrPort
	tlsAddr netip.AddrPort

	allocations  atomic.Int64
	authFailures atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// Start listens on opts.IP over UDP and TCP (and TLS when opts.TLSConfig is
// set), each on an OS-assigned port, and serves STUN binding requests and
// TURN allocations with UDP relays on the same IP. optFns change the copied
// options after defaults are filled; the caller's struct is never changed.
func Start(opts Options, optFns ...func(*Options)) (*Server, error) {
	opts = opts.withDefaults()
	for _, fn := range optFns {
		fn(&opts)
	}

	ip, err := netip.ParseAddr(opts.IP)
	if err != nil {
		return nil, fmt.Errorf("start turn server: parse ip %q: %w", opts.IP, err)
	}
	if ip.IsUnspecified() || ip.Zone() != "" {
		return nil, fmt.Errorf("start turn server: ip %s is not a concrete relay address", ip)
	}
	ip = ip.Unmap()
	for _, p := range []int{opts.UDPPort, opts.TCPPort, opts.TLSPort} {
		if p < 0 || p > 65535 {
			return nil, fmt.Errorf("start turn server: port %d: want 0 (any) to 65535", p)
		}
	}
	if opts.TLSConfig != nil && len(opts.TLSConfig.Certificates) == 0 &&
		opts.TLSConfig.GetCertificate == nil && opts.TLSConfig.GetConfigForClient == nil {
		return nil, errors.New("start turn server: tls config has no certificate")
	}
	if len(opts.Secret) == 0 {
		opts.Secret = make([]byte, secretSize)
		if _, err := rand.Read(opts.Secret); err != nil {
			return nil, fmt.Errorf("start turn server: generate secret: %w", err)
		}
	}

	s := &Server{
		opts:    opts,
		log:     opts.Logger.With("component", "turnserver"),
		tracker: newTracker(),
	}
	if err := s.listen(ip); err != nil {
		// No pion goroutine runs yet: close the sockets, nothing to wait for.
		_ = s.tracker.closeAll()
		return nil, fmt.Errorf("start turn server: %w", err)
	}
	s.log.Info("turn server started", "udp", s.udpAddr, "tcp", s.tcpAddr, "tls", s.tlsAddr, "extra_udp", opts.ExtraUDP, "realm", opts.Realm)
	return s, nil
}

// listen opens the sockets and starts pion's server on them.
func (s *Server) listen(ip netip.Addr) error {
	gen := &relayGenerator{ip: ip, t: s.tracker, wrap: s.opts.WrapPacketConn}
	cfg := turn.ServerConfig{
		Realm:         s.opts.Realm,
		AuthHandler:   s.authenticate,
		LoggerFactory: loggerFactory{l: s.opts.Logger.With("component", "pion-turn")},
		EventHandler: turn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
		},
	}

	udpAddrs := []netip.AddrPort{netip.AddrPortFrom(ip, uint16(s.opts.UDPPort))} //nolint:gosec // port checked in Start
	for _, a := range s.opts.ExtraUDP {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return fmt.Errorf("extra udp listener %q: %w", a, err)
		}
		udpAddrs = append(udpAddrs, ap)
	}
	for i, a := range udpAddrs {
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
		if err != nil {
			return fmt.Errorf("listen udp: %w", err)
		}
		if i == 0 {
			s.udpAddr = pc.LocalAddr().(*net.UDPAddr).AddrPort() //nolint:forcetypeassert // a UDPConn's address
		}
		var raw net.PacketConn = pc
		if s.opts.WrapPacketConn != nil {
			raw = s.opts.WrapPacketConn(pc)
		}
		udp, ok := newPacketConn(s.tracker, raw, true)
		if !ok {
			return net.ErrClosed
		}
		udp.refuseDTLS = true
		var upc net.PacketConn = udp
		if blocked(s.opts.Block, BlockUDP) {
			upc = udpBlocker{udp}
		}
		cfg.PacketConnConfigs = append(cfg.PacketConnConfigs, turn.PacketConnConfig{PacketConn: upc, RelayAddressGenerator: gen})
	}

	if !s.opts.DisableTCP {
		tcp, addr, err := s.listenTCP(ip, s.opts.TCPPort, nil)
		if err != nil {
			return fmt.Errorf("listen tcp: %w", err)
		}
		s.tcpAddr = addr
		if blocked(s.opts.Block, BlockTCP) {
			tcp = tcpBlocker{tcp}
		}
		cfg.ListenerConfigs = []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: gen}}
	}

	if s.opts.TLSConfig != nil {
		ln, addr, err := s.listenTCP(ip, s.opts.TLSPort, s.opts.TLSConfig)
		if err != nil {
			return fmt.Errorf("listen tls: %w", err)
		}
		s.tlsAddr = addr
		if blocked(s.opts.Block, BlockTLS) {
			ln = tcpBlocker{ln}
		}
		cfg.ListenerConfigs = append(cfg.ListenerConfigs, turn.ListenerConfig{Listener: ln, RelayAddressGenerator: gen})
	}

	var err error
	s.turn, err = turn.NewServer(cfg)
	if err != nil {
		return fmt.Errorf("new pion server: %w", err)
	}
	return nil
}

// listenTCP binds ip:port over TCP, with TLS when cfg is set.
//
// The tracked listener wraps the TLS listener, not the other way round: pion
// then gets our conn, not a *tls.Conn, and skips its own handshake step,
// which returns without closing the connection when the handshake fails
// (pion/turn v5 server.go readListener) — every client that refused the
// certificate left a CLOSE-WAIT socket behind (issue 11). The handshake runs
// on the first Read instead (conn.Read, bounded by handshakeTimeout); a
// failure is a read error, on which pion closes the connection.
func (s *Server) listenTCP(ip netip.Addr, port int, cfg *tls.Config) (net.Listener, netip.AddrPort, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port)))) //nolint:gosec // port checked in Start
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort() //nolint:forcetypeassert // a TCPListener's address
	var inner net.Listener = ln
	if s.opts.WrapListener != nil {
		inner = s.opts.WrapListener(ln)
	}
	if cfg != nil {
		inner = tls.NewListener(inner, cfg)
	}
	tl, ok := newListener(s.tracker, inner)
	if !ok {
		return nil, netip.AddrPort{}, net.ErrClosed
	}
	return tl, addr, nil
}

// UDPAddr is the address of the STUN/TURN UDP listener
// ("turn:host:port?transport=udp").
func (s *Server) UDPAddr() netip.AddrPort { return s.udpAddr }

// TCPAddr is the address of the STUN/TURN TCP listener
// ("turn:host:port?transport=tcp"); the zero AddrPort when
// Options.DisableTCP is set.
func (s *Server) TCPAddr() netip.AddrPort { return s.tcpAddr }

// TLSAddr is the address of the TURN-over-TLS listener
// ("turns:host:port?transport=tcp"); the zero AddrPort (IsValid false) when
// Options.TLSConfig was nil.
func (s *Server) TLSAddr() netip.AddrPort { return s.tlsAddr }

// Realm is the TURN realm the server announces.
func (s *Server) Realm() string { return s.opts.Realm }

// OpenConns counts the TCP and TLS client connections the server holds
// open now. A connection whose client went away (or refused the
// certificate) is closed and no longer counted.
func (s *Server) OpenConns() int { return s.tracker.openConns() }

// Allocations counts successful TURN allocations since Start, over every
// transport.
func (s *Server) Allocations() int64 { return s.allocations.Load() }

// AuthFailures counts rejected authenticated requests since Start:
// malformed or expired usernames, wrong realm, and wrong passwords
// (MESSAGE-INTEGRITY mismatch). The unauthenticated first Allocate that
// every client sends to learn the nonce is not counted.
func (s *Server) AuthFailures() int64 { return s.authFailures.Load() }

// Close stops the listeners, closes every client connection and relay
// socket, and waits until no pion goroutine is reading or writing any of
// them (at most a few seconds; an error reports goroutines still running).
// It is idempotent: later calls wait for the first and return its result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		errTurn := s.turn.Close()
		errSocks := s.tracker.closeAll()
		errWait := s.tracker.wait(closeWaitLimit)
		if err := errors.Join(errTurn, errSocks, errWait); err != nil {
			s.closeErr = fmt.Errorf("close turn server: %w", err)
		}
		s.log.Info("turn server closed")
	})
	return s.closeErr
}

// authenticate is pion's AuthHandler: it recomputes the password from the
// username (nothing is stored) and returns the long-term key pion checks
// MESSAGE-INTEGRITY with (hmac.Equal, constant time).
//
// Expiry is checked on Allocate only. Refresh, CreatePermission and
// ChannelBind of an existing allocation keep working with the same
// credentials past their expiry, as with the real service, whose 300 s
// credentials do not end longer sessions; the allocation still needs a
// correct password and ends when it is no longer refreshed.
func (s *Server) authenticate(ra *turn.RequestAttributes) (userID string, key []byte, ok bool) {
	var err error
	switch {
	case ra.Realm != s.opts.Realm:
		err = errors.New("wrong realm")
	case ra.Method == stun.MethodAllocate:
		err = s.checkUsername(ra.Username)
	default:
		_, err = parseUsername(ra.Username)
	}
	if err != nil {
		s.authFailures.Add(1)
		s.log.Info("turn auth rejected", "reason", err.Error(), "username", ra.Username,
			"realm", ra.Realm, "method", ra.Method.String(), "src", addrString(ra.SrcAddr))
		return "", nil, false
	}
	_, b64, _ := strings.Cut(ra.Username, ":")
	user, _ := base64.StdEncoding.DecodeString(b64) // validated by parseUsername
	return string(user), turn.GenerateAuthKey(ra.Username, ra.Realm, s.password(ra.Username)), true
}

// onAuth counts MESSAGE-INTEGRITY failures: requests whose username passed
// authenticate but whose password was wrong.
func (s *Server) onAuth(src, _ net.Addr, protocol, username, _, method string, verdict bool) {
	if verdict {
		return
	}
	s.authFailures.Add(1)
	s.log.Info("turn auth rejected", "reason", "wrong password", "username", username,
		"method", method, "protocol", protocol, "src", addrString(src))
}

func (s *Server) onAllocationCreated(src, _ net.Addr, protocol, userID, _ string, relay net.Addr, _ int) {
	s.allocations.Add(1)
	s.log.Debug("turn allocation created", "src", addrString(src), "protocol", protocol,
		"user", userID, "relay", addrString(relay))
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
