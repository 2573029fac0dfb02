package emulator

import (
	"log/slog"
	"time"
)

// Options configure an Emulator. The zero value is usable: it listens on
// 127.0.0.1:0 over TLS, emulates us-west-2, keeps channels in memory and
// knows one development credential.
type Options struct {
	// Listen is the TCP address of the HTTPS (and WSS) listener.
	// Default "127.0.0.1:0".
	Listen string
	// DataDir keeps the CA, the server certificate and the channels across
	// restarts. Empty: channels in memory, CA in a temporary directory
	// removed on Close.
	DataDir string
	// Region is the emulated region. Default "us-west-2". The partition
	// follows it (cn-* → aws-cn, us-gov-* → aws-us-gov).
	Region string
	// Account is the 12-digit account id of the development credential.
	// Default "123456789012".
	Account string
	// Credentials the emulator accepts. Nil: one development key pair
	// (DevCredential).
	Credentials []Credential
	// ClockOffset shifts the emulator's clock (Date headers, signature
	// time checks, ARNs) so clients' skew handling can be tested.
	ClockOffset time.Duration
	// Clock is the emulator's clock before ClockOffset. Default time.Now;
	// tests move it to expire queued messages and TURN credentials.
	Clock func() time.Time
	// ShuffleEndpoints returns ResourceEndpointList in random order instead
	// of the requested order (spec §2.2: the order is not promised).
	ShuffleEndpoints bool
	// InsecureHTTP serves plain HTTP/WS instead of HTTPS/WSS.
	InsecureHTTP bool
	// IceTTL is the lifetime of TURN credentials returned by
	// GetIceServerConfig. Default 300 s, as the service (spec §3.1, §13).
	IceTTL time.Duration
	// TURNAddress is the loopback IP the first STUN/TURN server listens
	// on. Default "127.0.0.1" ("127.0.0.2" with ServicePorts).
	TURNAddress string
	// TURNAddress2 is the IP of the second TURN server: GetIceServerConfig
	// returns two distinct servers, as the service does (spec §13).
	// Default: the IPv4 loopback address after TURNAddress (127.0.0.1 →
	// 127.0.0.2), or TURNAddress itself (the servers then differ by port)
	// when there is none, e.g. for ::1. On Linux every 127/8 address is
	// local; where only 127.0.0.1 is (macOS), alias 127.0.0.2 or set this
	// to TURNAddress.
	TURNAddress2 string
	// TURNPlainTCP also serves and advertises plain-TCP TURN
	// ("turn:host:port?transport=tcp"). The service offers TCP only over
	// TLS (turns:…?transport=tcp, §13), and the C SDK wraps every TCP TURN
	// connection in TLS, so it is off by default.
	TURNPlainTCP bool
	// ServicePorts is the service-shaped mode, for clients that have no
	// endpoint override (the C SDK samples, the JS SDK sample page): HTTPS
	// and WSS on port 443 (Listen defaults to "127.0.0.1:443"), STUN on
	// UDP 443 of the listen address, the TURN servers on 127.0.0.2 and
	// 127.0.0.3 with UDP and TLS on 443. HostsLine gives the hosts-file
	// line clients need. A Listen address with port 443 turns it on.
	// Binding port 443 needs root (or CAP_NET_BIND_SERVICE).
	ServicePorts bool
	// BlockTURN names TURN transports ("udp", "tcp", "tls") that do not
	// answer, as behind a firewall; the URIs are still listed, so clients'
	// fallback to another transport can be tested.
	BlockTURN []string
	// Limits are the signaling service's quotas (spec §7, §4.7). Zero
	// fields take the service's values.
	Limits Limits
	// OnConnection, if set, is told of every WSS signaling connection that
	// opens or ends, in order, on a goroutine of the emulator's (it may
	// call the Emulator, e.g. a fault method). Close delivers the events
	// left before it returns.
	OnConnection func(ConnectionEvent)
	// OnFault, if set, is told of every fault injected and of every time a
	// fault rule acts (a frame dropped, a call refused), in order, on one
	// goroutine; Emulator.Faults keeps the same events.
	OnFault func(FaultEvent)
	// Latency is a one-way delay added to everything that passes through
	// the emulator, each way: the bytes of HTTPS and WSS connections (TLS
	// handshakes included; not the TCP handshake, which the kernel
	// answers) and the STUN/TURN packets, relayed media included. Each
	// client is thus Latency away from the emulator: a round trip to it
	// costs 2×Latency, a relayed frame or media packet from one client to
	// another 2×Latency one way. See latency.go.
	Latency time.Duration
	// Jitter adds a random delay in [0, Jitter) to each read, write and
	// packet (TCP streams stay in order).
	Jitter time.Duration
	// Loss drops this fraction of STUN/TURN packets, in [0, 1). TCP
	// streams lose nothing (a real network's loss shows there as
	// retransmission delay, which is not modelled).
	Loss float64
	// AdminToken is the bearer token of the admin API (AdminPath). Empty:
	// a random one, from Emulator.AdminToken.
	AdminToken string
	// Storage configures WebRTC ingestion (JoinStorageSession, storage.go).
	Storage StorageOptions
	// Media configures reading stored media back (GetMedia, GetClip, media.go).
	Media MediaOptions
	// Logger receives the emulator's logs. Nil discards them.
	Logger *slog.Logger
	// IoT, if set, also serves the AWS IoT credentials provider (mutual
	// TLS, its own listener): see IoTOptions.
	IoT *IoTOptions
}

// Limits are the WSS signaling quotas. Zero means the service's documented
// value (spec §7); a negative rate means unlimited.
type Limits struct {
	// MaxViewers connected per channel: 10.
	MaxViewers int
	// ConnectsPerSecond per channel, masters and viewers together: 3.
	ConnectsPerSecond float64
	// MaxConnDuration is how long a connection may last: 1 h.
	MaxConnDuration time.Duration
	// IdleTimeout closes a connection that sent nothing (pings count,
	// §13): 10 min.
	IdleTimeout time.Duration
	// GoAwayGrace is how long before the end of a connection GO_AWAY is
	// sent: 1 min.
	GoAwayGrace time.Duration
	// MaxPayload is the largest messagePayload accepted, in bytes: 10,000.
	MaxPayload int
	// SDPPerSecond limits SDP offers and answers per connection: 5.
	SDPPerSecond float64
	// ICEPerSecond limits ICE candidates per connection: 20.
	ICEPerSecond float64
	// AlexaAnswerTimeout bounds SendAlexaOfferToMaster's wait for the
	// master's answer: 5 s (UNCONFIRMED, §3.2).
	AlexaAnswerTimeout time.Duration

	// HTTPIdleTimeout closes a keep-alive HTTPS connection that has been
	// quiet this long between requests: 60 s (the service's value is
	// UNCONFIRMED; 60 s is the usual idle timeout of AWS front ends).
	HTTPIdleTimeout time.Duration
	// HandshakeTimeout bounds a new connection's TLS handshake and the
	// reading of each request's headers: 10 s.
	HandshakeTimeout time.Duration
	// TURNIdleTimeout closes a TURN TCP/TLS connection quiet this long:
	// 11 min, past the 10 min allocation lifetime its client must refresh
	// within. Its first bytes (the TLS ClientHello or first STUN message)
	// must come within HandshakeTimeout.
	TURNIdleTimeout time.Duration
	// MaxConns caps the HTTPS/WSS connections open at once: 10,000. One
	// over the cap gets one 400 ClientLimitExceededException (the
	// service's throttling answer, §7) and is closed. Negative: no cap.
	MaxConns int
	// MaxConnsPerSource caps the connections open at once from one source
	// IP address, likewise: 5,000.
	MaxConnsPerSource int
	// FramesPerSecond is how many WSS frames the relay reads per second
	// from one connection: 50 (twice the SDP and ICE quotas together, so no
	// client within its quotas waits). Past it the relay stops reading the
	// connection until the budget refills: a flooding client is slowed by
	// TCP instead of taking the CPU from other channels. Negative: no
	// budget.
	FramesPerSecond float64
	// ChannelFramesPerSecond is the same budget for all the connections of
	// one channel together: 300.
	ChannelFramesPerSecond float64
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	deff := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	if l.MaxViewers == 0 {
		l.MaxViewers = 10
	}
	if l.MaxPayload == 0 {
		l.MaxPayload = 10000
	}
	deff(&l.ConnectsPerSecond, 3)
	deff(&l.SDPPerSecond, 5)
	deff(&l.ICEPerSecond, 20)
	def(&l.MaxConnDuration, time.Hour)
	def(&l.IdleTimeout, 10*time.Minute)
	def(&l.GoAwayGrace, time.Minute)
	def(&l.AlexaAnswerTimeout, 5*time.Second)
	def(&l.HTTPIdleTimeout, time.Minute)
	def(&l.HandshakeTimeout, 10*time.Second)
	def(&l.TURNIdleTimeout, 11*time.Minute)
	if l.MaxConns == 0 {
		l.MaxConns = 10000
	}
	if l.MaxConnsPerSource == 0 {
		l.MaxConnsPerSource = 5000
	}
	deff(&l.FramesPerSecond, 50)
	deff(&l.ChannelFramesPerSecond, 300)
	if l.GoAwayGrace >= l.MaxConnDuration {
		l.GoAwayGrace = l.MaxConnDuration / 2
	}
	return l
}

// Credential is a key pair the emulator accepts, with what it may do.
type Credential struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	SessionToken    string    `json:"SessionToken,omitempty"`
	Expiration      time.Time `json:"Expiration,omitzero"`
	// Account is the 12-digit account the key belongs to; default Options.Account.
	Account string `json:"Account,omitempty"`
	// Actions lists the permitted actions, e.g. "kinesisvideo:ConnectAsViewer"
	// or "kinesisvideo:*". Empty: every action.
	Actions []string `json:"Actions,omitempty"`
}

// LogValue keeps secrets out of logs.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", "****"))
}

// DevCredential is the development credential an emulator knows by default.
// It is not a secret: it opens only emulators.
var DevCredential = Credential{
	AccessKeyID:     "AKIDKVSRTCEMULATOR1",
	SecretAccessKey: "kvsrtc-emulator-development-secret-key",
}
