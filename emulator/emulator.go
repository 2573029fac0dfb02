package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
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
	turn   *turnserver.Server
	ln     net.Listener
	srv    *http.Server
	url    string
	host   string // host:port clients use in URLs

	creds    map[string]Credential
	verifier *sigv4.Verifier

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
	e.partition, e.dnsSuffix = partitionOf(o.Region)
	if err := e.loadCredentials(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			e.cleanup()
		}
	}()
	dir := o.DataDir
	if dir == "" {
		if e.tmpDir, err = os.MkdirTemp("", "kvsrtc-emulator-"); err != nil {
			return nil, fmt.Errorf("create temporary dir: %w", err)
		}
		dir = e.tmpDir
	}
	if e.pki, err = loadOrCreatePKI(dir, o.Region, e.dnsSuffix, time.Now()); err != nil {
		return nil, err
	}
	if e.store, err = openStore(o.DataDir); err != nil {
		return nil, err
	}
	secret, err := loadOrCreateSecret(filepath.Join(dir, "turn-secret"))
	if err != nil {
		return nil, err
	}
	turnOpts := turnserver.Options{IP: o.TURNAddress, Secret: secret, Now: e.now, Logger: o.Logger.With("component", "turn")}
	if !o.InsecureHTTP {
		turnOpts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{e.pki.cert}, MinVersion: tls.VersionTLS12}
	}
	if e.turn, err = turnserver.Start(turnOpts); err != nil {
		return nil, fmt.Errorf("start TURN server: %w", err)
	}
	if e.ln, err = listen(o.Listen, o.DataDir); err != nil {
		return nil, err
	}
	e.host = advertisedHost(e.ln.Addr().(*net.TCPAddr))
	scheme := "https"
	if o.InsecureHTTP {
		scheme = "http"
	}
	e.url = scheme + "://" + e.host
	e.relay = newRelay(e)
	e.verifier = &sigv4.Verifier{Service: "kinesisvideo", Region: o.Region, Now: e.now, Lookup: e.lookupSecret}
	e.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
		// HTTP/1.1 only: the C SDK pins ALPN to http/1.1 (§4.3) and
		// WebSocket upgrades need it.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	ln := e.ln
	if !o.InsecureHTTP {
		ln = tls.NewListener(e.ln, &tls.Config{
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
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
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
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Limits = o.Limits.withDefaults()
	if o.Clock == nil {
		o.Clock = time.Now
	}
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
	c, ok := e.creds[id]
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

func advertisedHost(a *net.TCPAddr) string {
	ip := a.IP
	if ip.IsUnspecified() {
		if ip.To4() != nil {
			ip = net.IPv4(127, 0, 0, 1)
		} else {
			ip = net.IPv6loopback
		}
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(a.Port))
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

// now is the emulator's clock, shifted by Options.ClockOffset.
func (e *Emulator) now() time.Time { return e.opts.Clock().Add(e.opts.ClockOffset) }

// Close stops the emulator at once and waits for its goroutines. It is
// idempotent.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		close(e.done)
		e.closeErr = e.cleanup()
	})
	return e.closeErr
}

func (e *Emulator) cleanup() error {
	var errs []error
	if e.relay != nil {
		e.relay.shutdown() // GO_AWAY, then 1001 to every WSS client
	}
	if e.srv != nil {
		errs = append(errs, e.srv.Close())
		<-e.served
	} else if e.ln != nil {
		errs = append(errs, e.ln.Close())
	}
	if e.turn != nil {
		errs = append(errs, e.turn.Close())
	}
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
func (e *Emulator) STUNURL() string { return "stun:" + e.turn.UDPAddr().String() }

// TURN is the emulator's STUN/TURN server.
func (e *Emulator) TURN() *turnserver.Server { return e.turn }

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

// Env returns the environment that points AWS SDKs and the AWS CLI at the
// emulator with its default credential, as KEY=VALUE lines in a stable order.
func (e *Emulator) Env() []string {
	c := e.Credential()
	env := []string{
		"AWS_ENDPOINT_URL_KINESIS_VIDEO=" + e.url,
		"AWS_REGION=" + e.opts.Region,
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
	}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	if !e.opts.InsecureHTTP {
		env = append(env, "AWS_CA_BUNDLE="+e.pki.caPath)
	}
	// Not an AWS variable: kvsrtc's commands list this STUN server instead
	// of the service's, which is unreachable offline.
	env = append(env, "KVSRTC_STUN_URL="+e.STUNURL())
	return env
}

// maxBody bounds request bodies. The model's largest input (50 tags) is a
// few KB; 1 MiB leaves room and refuses abuse.
const maxBody = 1 << 20

// ServeHTTP serves the control plane, the data plane and WSS.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// §8 item 3: Date (the clients' skew reference) and a request id on
	// every response, errors included.
	h.Set("Date", e.now().UTC().Format(http.TimeFormat))
	h.Set("X-Amzn-Requestid", newRequestID())
	if origin := r.Header.Get("Origin"); origin != "" {
		// §8 item 4: CORS for browser clients.
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusOK)
		return
	}
	if p := r.URL.Path; r.Method == http.MethodGet && len(p) > 3 && (p[:3] == "/m-" || p[:3] == "/v-") {
		if aerr := e.relay.serveWSS(w, r, p[1]); aerr != nil {
			e.log.Debug("upgrade refused", "status", aerr.Status, "code", aerr.Code)
			writeError(w, aerr, docDataPlane)
		}
		return
	}
	route, doc := e.route(r)
	if route == nil {
		e.count("Unknown")
		writeError(w, errUnknownOperation(), docControlPlane)
		return
	}
	e.count(route.name)
	if aerr := e.serveOperation(r, route); aerr != nil {
		e.log.Debug("refused", "op", route.name, "code", aerr.Code, "status", aerr.Status)
		writeError(w, aerr, doc)
		return
	} else if route.respond != nil {
		route.respond(w)
	}
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// call is one authenticated request being served.
type call struct {
	e    *Emulator
	r    *http.Request
	cred Credential
	body []byte
	now  time.Time
}

// route is a resolved operation: how to decode, authorize and run it.
type route struct {
	name    string
	run     func(c *call) (any, *apiError)
	respond func(http.ResponseWriter) // set by serveOperation on success
}

func (e *Emulator) serveOperation(r *http.Request, rt *route) *apiError {
	if r.Method != http.MethodPost {
		return errUnknownOperation()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errInvalidArgument("could not read the request body")
	}
	if len(body) > maxBody {
		return errInvalidArgument("the request body exceeds %d bytes", maxBody)
	}
	sig, err := e.verifier.VerifyHeader(r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return &apiError{Status: http.StatusForbidden, Code: string(se.Code), Message: se.Message, Lower: true}
		}
		return &apiError{Status: http.StatusForbidden, Code: string(sigv4.CodeIncompleteSignature), Message: "malformed signature", Lower: true}
	}
	c := &call{e: e, r: r, cred: e.creds[sig.AccessKeyID], body: body, now: e.now()}
	out, aerr := rt.run(c)
	if aerr != nil {
		return aerr
	}
	data, err := json.Marshal(out)
	if err != nil {
		return &apiError{Status: 500, Code: "InternalFailure", Message: "could not encode the response", Lower: true}
	}
	rt.respond = func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, data) }
	return nil
}

// decode reads the JSON body into v: unknown fields, wrong types and bad
// JSON are InvalidArgumentException (§1.1: an empty body means {}).
func (c *call) decode(v any) *apiError {
	body := bytes.TrimSpace(c.body)
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return errInvalidArgument("Value at '%s' has the wrong JSON type: want %s, got %s", te.Field, te.Type, te.Value)
		case errors.As(err, &se):
			return errInvalidArgument("Could not parse the request body: %v at offset %d", se, se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errInvalidArgument("Unrecognized field %s in the request body", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return errInvalidArgument("Could not parse the request body: %v", err)
		}
	}
	if dec.More() {
		return errInvalidArgument("Could not parse the request body: data after the JSON object")
	}
	return nil
}

// authorize checks that the caller may perform action on resource, as IAM
// would, with IAM's message that names the missing action (§12 item 1).
func (c *call) authorize(action, resource string, dataPlane bool) *apiError {
	if allowed(c.cred.Actions, action) {
		return nil
	}
	msg := fmt.Sprintf("User: arn:%s:iam::%s:user/%s is not authorized to perform: %s on resource: %s",
		c.e.partition, c.cred.Account, c.cred.AccessKeyID, action, resource)
	if dataPlane {
		// The signaling model has no AccessDeniedException; its
		// authorization error is NotAuthorizedException (401).
		return &apiError{Status: 401, Code: "NotAuthorizedException", Message: msg}
	}
	// The control-plane model gives AccessDeniedException status 401 (§1.4).
	return &apiError{Status: 401, Code: "AccessDeniedException", Message: msg}
}

func allowed(actions []string, action string) bool {
	if len(actions) == 0 {
		return true
	}
	for _, a := range actions {
		if a == "*" || strings.EqualFold(a, action) {
			return true
		}
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(strings.ToLower(action), strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// route finds the operation for r; doc is the error-type doc URL to use.
func (e *Emulator) route(r *http.Request) (*route, string) {
	p := r.URL.Path
	if op, ok := controlOps[strings.TrimPrefix(p, "/")]; ok {
		return &route{name: op.name, run: op.run}, docControlPlane
	}
	// Resource endpoints: /r-<id>/v1/... (HTTPS data plane), §2.2.
	if rest, ok := strings.CutPrefix(p, "/"); ok {
		prefix, op, _ := strings.Cut(rest, "/")
		if len(prefix) > 2 && prefix[:2] == "r-" {
			if op, ok := dataOps["/"+op]; ok {
				return &route{name: op.name, run: op.run}, docDataPlane
			}
		}
	}
	return nil, docControlPlane
}

// ParseEnvFile reads KEY=VALUE lines (as written by `kvsrtc emulator
// --env-file`) into a map.
func ParseEnvFile(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && k != "" && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}

// endpointURL builds a resource endpoint URL on the emulator's listener.
func (e *Emulator) endpointURL(scheme, prefix string) string {
	u := url.URL{Scheme: scheme, Host: e.host, Path: "/" + prefix}
	return u.String()
}
