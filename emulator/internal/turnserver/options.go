package turnserver

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"
)

// Default option values.
const (
	// DefaultIP is the address the server binds when Options.IP is empty.
	DefaultIP = "127.0.0.1"
	// DefaultRealm is the TURN realm when Options.Realm is empty.
	DefaultRealm = "kinesisvideo"
	// secretSize is the length of a generated HMAC key.
	secretSize = 32
)

// Options configure a Server. The zero value is usable: loopback UDP and TCP
// listeners with OS-assigned ports, a random secret, realm "kinesisvideo",
// the wall clock and no logging.
type Options struct {
	// IP is the address the STUN/TURN listeners and every relay socket bind
	// to, and the relay address handed to clients. It must be a concrete
	// (not unspecified) IPv4 or IPv6 address; the emulator uses loopback.
	// Default "127.0.0.1".
	IP string

	// Secret is the HMAC-SHA256 key shared by Credentials and the server's
	// authentication. Empty: 32 random bytes. The slice is copied.
	Secret []byte

	// Realm is the TURN realm announced to clients. Default "kinesisvideo".
	Realm string

	// Now is the clock used to stamp and check credential expiry. The
	// emulator shifts it to test clock skew. Default time.Now.
	Now func() time.Time

	// Logger receives the server's logs (and pion's, scoped by
	// "component"). Nil discards them. Passwords and keys are never logged.
	Logger *slog.Logger

	// TLSConfig, when set, adds a TURN-over-TLS listener (for
	// "turns:host:port?transport=tcp"). It must carry a certificate. The
	// config is cloned.
	TLSConfig *tls.Config

	// UDPPort, TCPPort and TLSPort are the listeners' ports; 0 lets the OS
	// pick. The emulator's service-shaped mode asks for 443, as the
	// service's URIs carry (spec §13).
	UDPPort, TCPPort, TLSPort int

	// DisableTCP leaves out the plain-TCP listener
	// ("turn:host:port?transport=tcp"), which the service does not offer
	// (spec §13) and the C SDK cannot use (it wraps every TCP TURN
	// connection in TLS).
	DisableTCP bool

	// ExtraUDP lists more UDP listeners ("ip:port") that answer STUN
	// binding requests and TURN like the main one, e.g. the address the
	// STUN host name stun.kinesisvideo.<region>.<suffix> resolves to. Relays
	// are still bound on IP.
	ExtraUDP []string
	// Block names transports ("udp", "tcp", "tls") on which TURN does not
	// answer, to test clients against a firewall: on UDP every packet but
	// STUN Binding requests is dropped; TCP and TLS connections are closed
	// on accept. The URIs are still listed.
	Block []string

	// WrapPacketConn, when set, wraps every UDP socket the server reads
	// and writes (the listeners and each relay), under the server's own
	// bookkeeping. The emulator's latency mode delays and drops packets
	// with it.
	WrapPacketConn func(net.PacketConn) net.PacketConn
	// WrapListener, when set, wraps the raw TCP listeners (below TLS).
	// The emulator bounds idle connections and delays their bytes with it.
	WrapListener func(net.Listener) net.Listener
}

// withDefaults returns a copy of o with every empty field filled. The
// caller's struct and slices are never shared.
func (o Options) withDefaults() Options {
	if o.IP == "" {
		o.IP = DefaultIP
	}
	if o.Realm == "" {
		o.Realm = DefaultRealm
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Secret = append([]byte(nil), o.Secret...)
	o.ExtraUDP = append([]string(nil), o.ExtraUDP...)
	o.Block = append([]string(nil), o.Block...)
	if o.TLSConfig != nil {
		o.TLSConfig = o.TLSConfig.Clone()
	}
	return o
}
