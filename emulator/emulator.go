package emulator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/sigv4"
	"github.com/kvsrtc/kvsrtc/emulator/internal/turnserver"
)

// Emulator is a running local KVS signaling service.
type Emulator struct {
	opts      Options
	partition string
	dnsSuffix string
	log       *slog.Logger

	pki    *pki
	tmpDir string
	store  *store
	relay  *relay
	events *connEvents
	turn   *turnserver.Server // the first TURN server (also STUN)
	turn2  *turnserver.Server // the second, on another address (turn.go)
	ln     net.Listener
	srv    *http.Server
	url    string
	host   string // host[:port] clients use in URLs (no default port, §13)

	listenIP netip.Addr     // the HTTPS listener's IP; 127.0.0.1 for an unspecified one
	stunAddr netip.AddrPort // where STUNURL points

	ingest // streams and storage sessions (ingest.go)

	creds    map[string]Credential
	verifier *sigv4.Verifier
	iot      *iotServer // nil without Options.IoT

	faults     *faultSet    // fault rules and log (faults.go)
	conns      *connLimiter // connection caps and latency (conns.go, latency.go)
	adminToken string       // admin.go
	lat        latency      // latency.go
	// clockShift and turnShift move the clock (FaultClock) and the TURN
	// servers' clock (FaultExpireTURN), in nanoseconds.
	clockShift, turnShift atomic.Int64

	counts sync.Map // operation name → *atomic.Int64
	total  atomic.Int64

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	served    chan struct{}
}

// Start starts an emulator. It stops when ctx ends or Close is called.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Emulator{opts: o, log: o.Logger, done: make(chan struct{}), served: make(chan struct{})}
	e.lat.d, e.lat.jitter, e.lat.loss = o.Latency, o.Jitter, o.Loss // before the TURN servers start
	e.partition, e.dnsSuffix = partitionOf(o.Region)
	if err := e.loadCredentials(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			e.cleanup(context.Background(), false)
		}
	}()
	dir := o.DataDir
	if dir == "" {
		if e.tmpDir, err = os.MkdirTemp("", "kvsrtc-emulator-"); err != nil {
			return nil, fmt.Errorf("create temporary dir: %w", err)
		}
		dir = e.tmpDir
	}
	if e.pki, err = loadOrCreatePKI(dir, o.Region, e.dnsSuffix, o.turnIPs(), time.Now()); err != nil {
		return nil, err
	}
	if e.store, err = openStore(o.DataDir); err != nil {
		return nil, err
	}
	if e.streams, err = openStreams(e.store.db); err != nil {
		return nil, err
	}
	secret, err := loadOrCreateSecret(filepath.Join(dir, "turn-secret"))
	if err != nil {
		return nil, err
	}
	e.listenIP = listenIP(o.Listen)
	if err := e.startTURN(secret); err != nil {
		return nil, err
	}
	if e.ln, err = listen(o.Listen, o.DataDir); err != nil {
		return nil, err
	}
	scheme := "https"
	if o.InsecureHTTP {
		scheme = "http"
	}
	e.host = advertisedHost(e.ln.Addr().(*net.TCPAddr), scheme)
	e.url = scheme + "://" + e.host
	e.relay = newRelay(e)
	e.events = newConnEvents(o.OnConnection)
	e.faults = newFaultSet(e, o.OnFault)
	if e.adminToken = o.AdminToken; e.adminToken == "" {
		e.adminToken = newAdminToken()
	}
	e.verifier = &sigv4.Verifier{Service: "kinesisvideo", Region: o.Region, Now: e.now, Lookup: e.lookupSecret}
	e.srv = &http.Server{
		Handler: e,
		// The TLS handshake is bounded by ReadHeaderTimeout too (net/http
		// tlsHandshakeTimeout); IdleTimeout closes quiet keep-alive
		// connections, which otherwise wait for a next request forever.
		ReadHeaderTimeout: o.Limits.HandshakeTimeout,
		ConnContext:       connContext,
		IdleTimeout:       o.Limits.HTTPIdleTimeout,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
		// HTTP/1.1 only: the C SDK pins ALPN to http/1.1 (§4.3) and
		// WebSocket upgrades need it.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if err := e.startIoT(); err != nil {
		return nil, err
	}
	e.conns = newConnLimiter(e, e.ln)
	var ln net.Listener = e.conns
	if !o.InsecureHTTP {
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{e.pki.cert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
		})
	}
	go func() {
		defer close(e.served)
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			e.Close()
		case <-e.done:
		}
	}()
	ok = true
	e.log.Info("emulator ready", "url", e.url, "region", o.Region, "data", o.DataDir)
	return e, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Listen == "" && o.ServicePorts {
		o.Listen = "127.0.0.1:443"
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if portOf(o.Listen) == servicePort {
		o.ServicePorts = true
	}
	if o.Region == "" {
		o.Region = "us-west-2"
	}
	if !reRegion.MatchString(o.Region) {
		return o, fmt.Errorf("region %q is not a region name (want e.g. us-west-2 or cn-north-1)", o.Region)
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if !reAccount.MatchString(o.Account) {
		return o, fmt.Errorf("account %q: want 12 digits", o.Account)
	}
	if o.IceTTL == 0 {
		o.IceTTL = 300 * time.Second
	}
	if o.IceTTL < time.Second || o.IceTTL > 86400*time.Second {
		return o, fmt.Errorf("ICE TTL %v: want between 1s and 24h", o.IceTTL)
	}
	if o.TURNAddress == "" {
		o.TURNAddress = "127.0.0.1"
		if o.ServicePorts {
			o.TURNAddress = serviceTURNAddress
		}
	}
	if o.TURNAddress2 == "" {
		o.TURNAddress2 = nextLoopback(o.TURNAddress)
	}
	if err := turnserver.CheckBlock(o.BlockTURN); err != nil {
		return o, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Limits = o.Limits.withDefaults()
	if o.Latency < 0 || o.Latency > 10*time.Second || o.Jitter < 0 || o.Jitter > 10*time.Second {
		return o, fmt.Errorf("latency %v, jitter %v: want each between 0 and 10s", o.Latency, o.Jitter)
	}
	if !(o.Loss >= 0 && o.Loss < 1) {
		return o, fmt.Errorf("loss %v: want a fraction in [0, 1)", o.Loss)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	o.Storage = o.Storage.withDefaults()
	if len(o.Credentials) == 0 {
		o.Credentials = []Credential{DevCredential}
	}
	return o, nil
}

// partitionOf returns the partition and DNS suffix of region (spec §2.1).
func partitionOf(region string) (partition, dnsSuffix string) {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn", "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov", "amazonaws.com"
	default:
		return "aws", "amazonaws.com"
	}
}

func (e *Emulator) loadCredentials() error {
	e.creds = make(map[string]Credential, len(e.opts.Credentials))
	for i, c := range e.opts.Credentials {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return fmt.Errorf("credential %d: AccessKeyId and SecretAccessKey are required", i+1)
		}
		if c.Account == "" {
			c.Account = e.opts.Account
		}
		if !reAccount.MatchString(c.Account) {
			return fmt.Errorf("credential %s: account %q: want 12 digits", c.AccessKeyID, c.Account)
		}
		if _, dup := e.creds[c.AccessKeyID]; dup {
			return fmt.Errorf("credential %s is listed twice", c.AccessKeyID)
		}
		e.creds[c.AccessKeyID] = c
	}
	return nil
}

func (e *Emulator) lookupSecret(id string) (sigv4.Secret, bool) {
	c, ok := e.credential(id)
	return sigv4.Secret{SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: c.Expiration}, ok
}

// listen binds addr. With a data dir and port 0 it first tries the port the
// previous run used, so endpoints handed out before a restart stay valid
// (spec §5.4: clients cache them for hours).
func listen(addr, dataDir string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	portFile := ""
	if dataDir != "" {
		portFile = filepath.Join(dataDir, "listen-port")
		if port == "0" {
			if b, err := os.ReadFile(portFile); err == nil {
				if ln, err := net.Listen("tcp", net.JoinHostPort(host, strings.TrimSpace(string(b)))); err == nil {
					return ln, nil
				}
			}
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if portFile != "" {
		_ = writeFileAtomic(portFile, []byte(strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), 0o644)
	}
	return ln, nil
}

// advertisedHost is the host of the emulator's URLs: the listener's IP
// (127.0.0.1 for an unspecified one) and its port, left out when it is the
// scheme's default. Spec §13: a client may sign "host:443" while sending
// "Host: host"; and the C SDK ends the host at ':' and then fails on the
// port (csdk-client.md, producer-c getRequestHost and lwsCompleteSync).
func advertisedHost(a *net.TCPAddr, scheme string) string {
	ip := a.IP
	if ip.IsUnspecified() {
		// Go listens dual-stack on "0.0.0.0" and "::" alike (the address
		// reads [::]); 127.0.0.1 is what listenIP and the hosts line use.
		ip = net.IPv4(127, 0, 0, 1)
	}
	if scheme == "https" && a.Port == 443 || scheme == "http" && a.Port == 80 {
		if ip.To4() == nil {
			return "[" + ip.String() + "]"
		}
		return ip.String()
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(a.Port))
}

// listenIP is the IP of a listen address, 127.0.0.1 when it is unspecified
// or a name.
func listenIP(addr string) netip.Addr {
	host, _, _ := net.SplitHostPort(addr)
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() {
		return netip.MustParseAddr("127.0.0.1")
	}
	return ip.Unmap()
}

// loadOrCreateSecret keeps the TURN HMAC key under the data dir, so TURN
// credentials handed out before a restart stay valid for their Ttl.
func loadOrCreateSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) == 64 {
		if k, err := hex.DecodeString(string(b)); err == nil {
			return k, nil
		}
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := writeFileAtomic(path, []byte(hex.EncodeToString(k)), 0o600); err != nil {
		return nil, fmt.Errorf("store TURN secret: %w", err)
	}
	return k, nil
}

// now is the emulator's clock, shifted by Options.ClockOffset and by
// FaultClock.
func (e *Emulator) now() time.Time {
	return e.opts.Clock().Add(e.opts.ClockOffset + time.Duration(e.clockShift.Load()))
}

// turnNow is the TURN servers' clock: now, moved on by FaultExpireTURN.
func (e *Emulator) turnNow() time.Time { return e.now().Add(time.Duration(e.turnShift.Load())) }

// closeTimeout bounds Close: GO_AWAY, the frames still queued and the 1001
// close handshakes of every WSS client fit in it, or are cut.
const closeTimeout = time.Second

// Close stops the emulator within one short deadline (1 s: WSS clients get
// GO_AWAY and a 1001 close if they answer in time, else are cut) and waits
// for its goroutines. It is idempotent; later calls, and Shutdown, return
// the first call's result.
func (e *Emulator) Close() error { return e.stop(context.Background(), false) }

// Shutdown stops the emulator gracefully within ctx: REST requests under
// way finish, every WSS client gets GO_AWAY, the frames queued for it and a
// 1001 close handshake. When ctx ends first, what is left is cut as Close
// does and Shutdown returns ctx's error. It waits for every goroutine.
func (e *Emulator) Shutdown(ctx context.Context) error { return e.stop(ctx, true) }

func (e *Emulator) stop(ctx context.Context, graceful bool) error {
	e.closeOnce.Do(func() {
		close(e.done)
		e.closeErr = e.cleanup(ctx, graceful)
	})
	return e.closeErr
}

// cleanup releases everything: gracefully within ctx (Shutdown), or
// within Close's short deadline, whose expiry is not an error.
func (e *Emulator) cleanup(ctx context.Context, graceful bool) error {
	var errs []error
	if !graceful {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
	}
	var srvErr error
	if graceful && e.srv != nil {
		// REST requests finish; hijacked WSS connections are the relay's.
		if srvErr = e.srv.Shutdown(ctx); srvErr != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", srvErr))
		}
	}
	e.storage.shutdown() // storage sessions first: they send over the relay
	if e.relay != nil {
		// GO_AWAY, then 1001 to every WSS client
		if err := e.relay.shutdown(ctx); err != nil && graceful {
			errs = append(errs, fmt.Errorf("shutdown signaling connections: %w", err))
		}
	}
	if e.events != nil {
		e.events.shutdown() // after the relay: its disconnects are told
	}
	if e.faults != nil {
		e.faults.shutdown() // delayed and held frames are dropped
	}
	defer e.lat.wg.Wait() // delayed connections flush within Latency + 1 s
	if e.srv != nil {
		if !graceful {
			errs = append(errs, e.srv.Close())
		} else if srvErr != nil {
			_ = e.srv.Close() // cut the requests still under way
		}
		<-e.served
	} else if e.ln != nil {
		errs = append(errs, e.ln.Close())
	}
	if e.iot != nil {
		errs = append(errs, e.iot.close())
	}
	errs = append(errs, e.closeTURN())
	if e.store != nil {
		errs = append(errs, e.store.close())
	}
	if e.tmpDir != "" {
		errs = append(errs, os.RemoveAll(e.tmpDir))
	}
	return errors.Join(errs...)
}

// URL is the base URL of the control plane, e.g. https://127.0.0.1:4443.
func (e *Emulator) URL() string { return e.url }

// Region is the emulated region.
func (e *Emulator) Region() string { return e.opts.Region }

// Partition is the region's partition: aws, aws-cn or aws-us-gov.
func (e *Emulator) Partition() string { return e.partition }

// Account is the account id of the default credential.
func (e *Emulator) Account() string { return e.Credential().Account }

// Credential is the default (first) credential.
func (e *Emulator) Credential() Credential { return e.creds[e.opts.Credentials[0].AccessKeyID] }

// CABundlePath is the PEM file of the emulator's CA, for AWS_CA_BUNDLE.
func (e *Emulator) CABundlePath() string { return e.pki.caPath }

// CertPool holds the emulator's CA.
func (e *Emulator) CertPool() *x509.CertPool { return e.pki.pool }

// STUNURL is the emulator's STUN server, for clients pointed at the
// emulator (the service's stun.kinesisvideo.<region>.<suffix>:443 is not
// reachable offline; spec §3.3, §8 item 6).
//
// In the service-shaped mode it is UDP 443 of the listen address, where the
// hosts-file line (HostsLine) sends the service's STUN host name.
func (e *Emulator) STUNURL() string { return "stun:" + e.stunAddr.String() }

// Requests returns how many requests the operation (e.g.
// "GetSignalingChannelEndpoint") has received, refused ones included.
func (e *Emulator) Requests(operation string) int64 {
	if v, ok := e.counts.Load(operation); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// TotalRequests returns how many requests the emulator has received.
func (e *Emulator) TotalRequests() int64 { return e.total.Load() }

func (e *Emulator) count(operation string) {
	e.total.Add(1)
	v, ok := e.counts.Load(operation)
	if !ok {
		v, _ = e.counts.LoadOrStore(operation, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}
