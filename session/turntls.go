package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// turnTLSSessions resumes TLS sessions with TURN servers across every
// session of the process: each peer connection allocates on each
// turns: server anew, and a resumed TLS 1.3 handshake (a PSK with a fresh
// ECDHE) skips the certificate, its signature and the chain's
// verification (a full handshake here is 0.88 ms of CPU on the two ends,
// a resumed one 0.70). Browsers resume the same way.
var turnTLSSessions = tls.NewLRUClientSessionCache(64)

// turnTLSTimeout bounds a TURN server's TCP connect and TLS handshake.
const turnTLSTimeout = 10 * time.Second

// turnTLS dials TURN over TLS (turns:…?transport=tcp) trusting the CA of
// the session's HTTPClient (AWS_CA_BUNDLE, an emulator's or a corporate
// CA) as well as the system pool.
//
// pion/ice dials turns: itself with tls.Config{ServerName, InsecureSkipVerify}
// and nothing else, so only the system pool is trusted and a private CA
// fails ("x509: certificate signed by unknown authority";
// gatherCandidatesRelay, pion/ice v4 gather.go). Its one hook is the proxy
// dialer (SettingEngine.SetICEProxyDialer): with one set, pion dials both
// turn:…?transport=tcp and turns:…?transport=tcp through it and wraps
// neither in TLS. So the dialer does the TLS itself for the addresses of
// turns: URLs, which it learns as peer connections are configured
// (learn), and dials plain TCP for the rest.
//
// It also carries the optimistic TURN permissions (turnperm.go) unless
// Options.WaitTURNPermissions: the TCP and TLS connections it dials, and
// the UDP sockets pion opens for TURN through permNet, are wrapped.
type turnTLS struct {
	roots *x509.CertPool // the HTTPClient's; nil: the system pool alone
	mu    sync.Mutex
	tls   map[string]bool // host:port → a turns: URL names it

	perms bool // optimistic permissions
	creds turnCreds
	log   *slog.Logger
}

// newTURNTLS takes the trust of o.HTTPClient's transport.
func newTURNTLS(o *Options) *turnTLS {
	hc := o.HTTPClient
	t := &turnTLS{tls: map[string]bool{}, perms: !o.WaitTURNPermissions, log: o.Logger}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if hc != nil {
		if tr, ok := hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
			t.roots = tr.TLSClientConfig.RootCAs
		}
	}
	return t
}

// withTURNTLS returns o with the SettingEngine change that dials TURN TCP
// through t; the caller's SettingEngine runs after it (and may set its own
// proxy dialer).
func withTURNTLS(o Options, t *turnTLS) Options {
	user := o.SettingEngine
	o.SettingEngine = func(se *webrtc.SettingEngine) {
		se.SetICEProxyDialer(t)
		if t.perms {
			if n, err := stdnet.NewNet(); err == nil {
				se.SetNet(permNet{Net: n, creds: &t.creds, log: t.log}) // a caller's SetNet replaces it
			}
		}
		if user != nil {
			user(se)
		}
	}
	return o
}

// learn records which TURN addresses of servers take TLS. A plain
// turn:…?transport=tcp URL at an address a turns: URL also names would be
// dialed with TLS too: the service lists TCP only as TLS, and the C SDK
// dials every TCP TURN server over TLS (csdk-client.md, ICE).
func (t *turnTLS) learn(servers []webrtc.ICEServer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range servers {
		if pass, ok := s.Credential.(string); ok && s.Username != "" {
			t.creds.add(s.Username, pass)
		}
		for _, raw := range s.URLs {
			u, err := stun.ParseURI(raw)
			if err != nil || u.Proto != stun.ProtoTypeTCP {
				continue
			}
			addr := net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
			if u.Scheme == stun.SchemeTypeTURNS {
				t.tls[addr] = true
			}
		}
	}
}

// Dial is golang.org/x/net/proxy.Dialer's: pion calls it for each TCP
// TURN allocation with the server's host:port.
func (t *turnTLS) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), turnTLSTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	useTLS := t.tls[addr]
	t.mu.Unlock()
	if useTLS {
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(c, t.config(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("turn over tls to %s: %w", addr, err)
		}
		c = tc
	}
	if t.perms {
		c = newPermStreamConn(c, &t.creds, t.log)
	}
	return c, nil
}

// config verifies the server's chain against the HTTPClient's roots, then
// the system pool: AWS_CA_BUNDLE replaces the pool in aws-sdk-go-v2's HTTP
// client (config's addHTTPClientCABundle starts from an empty pool), but a
// TURN server may well have a public certificate.
func (t *turnTLS) config(host string) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: turnTLSSessions,
		InsecureSkipVerify: true, // verified below, against both pools
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			pools := []*x509.CertPool{nil} // nil: the system pool
			if t.roots != nil {
				pools = []*x509.CertPool{t.roots, nil}
			}
			var errs []error
			for _, roots := range pools {
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host})
				if err == nil {
					return nil
				}
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		},
	}
}
