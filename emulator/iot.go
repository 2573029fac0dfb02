package emulator

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRoleAlias is the role alias an emulator's IoT credentials endpoint
// knows when IoTOptions.RoleAliases is empty. It grants every action.
const DefaultRoleAlias = "kvsrtc-emulator-role-alias"

// IoTOptions turn on the emulated AWS IoT credentials provider: an HTTPS
// listener of its own that asks for a device certificate (mutual TLS) and
// exchanges it for temporary credentials, as
// <prefix>.credentials.iot.<region>.amazonaws.com does. Certificates that
// chain to the emulator's CA are registered devices; the thing a
// certificate belongs to is its subject CommonName (make one with
// [Emulator.IssueIoTCertificate] or `kvsrtc emulator iot-cert`).
type IoTOptions struct {
	// Listen is the TCP address of the IoT credentials listener.
	// Default "127.0.0.1:0".
	Listen string
	// RoleAliases the endpoint knows. Empty: one, DefaultRoleAlias, with
	// every action and 1 h credentials.
	RoleAliases []RoleAlias
}

// RoleAlias maps an IoT role alias to the credentials it hands out.
type RoleAlias struct {
	// Alias is the role alias name, as in the request path. Required.
	Alias string `json:"Alias"`
	// Actions the issued credentials may perform (as Credential.Actions).
	// Empty: every action.
	Actions []string `json:"Actions,omitempty"`
	// CredentialDuration is the lifetime of issued credentials. Default
	// 1 h. The service allows 900 s to 12 h; the emulator takes anything
	// from 1 s so tests can watch a refresh.
	CredentialDuration time.Duration `json:"CredentialDuration,omitempty"`
	// Account of the issued credentials. Default Options.Account.
	Account string `json:"Account,omitempty"`
	// Things, if set, are the only thing names whose certificates may
	// assume the alias (an IoT policy allowing iot:AssumeRoleWithCertificate
	// for them); others get 403 "Access Denied".
	Things []string `json:"Things,omitempty"`
}

// iotOperation is the name Requests counts IoT credential requests under
// (the IoT policy action the service checks).
const iotOperation = "AssumeRoleWithCertificate"

// iotServer is the emulated IoT credentials provider.
type iotServer struct {
	e       *Emulator
	aliases map[string]RoleAlias
	ln      net.Listener
	srv     *http.Server
	served  chan struct{}
	host    string

	mu     sync.Mutex
	issued map[string]Credential // access key id → issued credential
}

// startIoT starts the IoT listener when Options.IoT asks for one.
func (e *Emulator) startIoT() error {
	o := e.opts.IoT
	if o == nil {
		return nil
	}
	s := &iotServer{e: e, aliases: map[string]RoleAlias{}, issued: map[string]Credential{}, served: make(chan struct{})}
	aliases := o.RoleAliases
	if len(aliases) == 0 {
		aliases = []RoleAlias{{Alias: DefaultRoleAlias}}
	}
	for i, a := range aliases {
		if a.Alias == "" {
			return fmt.Errorf("IoT role alias %d has no name", i+1)
		}
		if _, dup := s.aliases[a.Alias]; dup {
			return fmt.Errorf("IoT role alias %s is listed twice", a.Alias)
		}
		if a.CredentialDuration == 0 {
			a.CredentialDuration = time.Hour
		}
		if a.CredentialDuration < time.Second || a.CredentialDuration > 12*time.Hour {
			return fmt.Errorf("IoT role alias %s: credential duration %v: want between 1s and 12h", a.Alias, a.CredentialDuration)
		}
		if a.Account == "" {
			a.Account = e.opts.Account
		}
		if !reAccount.MatchString(a.Account) {
			return fmt.Errorf("IoT role alias %s: account %q: want 12 digits", a.Alias, a.Account)
		}
		s.aliases[a.Alias] = a
	}
	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen for IoT credentials on %s: %w", listen, err)
	}
	s.ln = ln
	s.host = advertisedHost(ln.Addr().(*net.TCPAddr), "https")
	leaf, err := e.iotServerCertificate(ln.Addr().(*net.TCPAddr).IP)
	if err != nil {
		ln.Close()
		return fmt.Errorf("IoT server certificate: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	// RequestClientCert, not RequireAndVerify: the service completes the
	// handshake and answers an unknown certificate with a 403 in JSON,
	// which tells a user far more than a TLS alert.
	tlsLn := tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{leaf},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	})
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("serve IoT credentials", "err", err)
		}
	}()
	e.iot = s
	e.log.Info("IoT credentials endpoint ready", "endpoint", s.host, "role_aliases", len(s.aliases))
	return nil
}

func (s *iotServer) close() error {
	err := s.srv.Close()
	<-s.served
	return err
}

// IoTEndpoint is the IoT credentials endpoint as host:port (the service's
// is <prefix>.credentials.iot.<region>.amazonaws.com, also without a
// scheme: AWS_IOT_CORE_CREDENTIAL_ENDPOINT), or "" without Options.IoT.
func (e *Emulator) IoTEndpoint() string {
	if e.iot == nil {
		return ""
	}
	return e.iot.host
}

// credential finds a key pair the emulator accepts: a configured one or
// one the IoT endpoint issued.
func (e *Emulator) credential(id string) (Credential, bool) {
	if c, ok := e.creds[id]; ok {
		return c, true
	}
	if e.iot == nil {
		return Credential{}, false
	}
	e.iot.mu.Lock()
	defer e.iot.mu.Unlock()
	c, ok := e.iot.issued[id]
	return c, ok
}

// iotError is an answer in the IoT credentials provider's shape: a status,
// x-amzn-ErrorType, and {"message": …}. The messages are the service's as
// recorded from curl against credentials.iot.us-west-2.amazonaws.com
// (403 "Certificate is invalid on this endpoint" with AccessDeniedException,
// 403 "Invalid thing name passed", 403 "Access Denied", 404 "Role alias
// does not exist"). The ErrorType of the last three is UNCONFIRMED.
type iotError struct {
	status  int
	code    string
	message string
}

var (
	errIoTCertificate = iotError{http.StatusForbidden, "AccessDeniedException", "Certificate is invalid on this endpoint"}
	errIoTThing       = iotError{http.StatusForbidden, "AccessDeniedException", "Invalid thing name passed"}
	errIoTDenied      = iotError{http.StatusForbidden, "AccessDeniedException", "Access Denied"}
	errIoTNoAlias     = iotError{http.StatusNotFound, "ResourceNotFoundException", "Role alias does not exist"}
	errIoTNotFound    = iotError{http.StatusNotFound, "ResourceNotFoundException", "Not Found"}
)

// iotCredentials is the success body: {"credentials": {...}}.
type iotCredentials struct {
	Credentials struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
		Expiration      string `json:"expiration"`
	} `json:"credentials"`
}

// ServeHTTP answers GET /role-aliases/<alias>/credentials.
func (s *iotServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := s.e
	e.count(iotOperation)
	h := w.Header()
	h.Set("Date", e.now().UTC().Format(http.TimeFormat))
	h.Set("x-amzn-RequestId", newRequestID())
	alias, ok := strings.CutPrefix(r.URL.Path, "/role-aliases/")
	if ok {
		alias, ok = strings.CutSuffix(alias, "/credentials")
	}
	if !ok || alias == "" || strings.Contains(alias, "/") || r.Method != http.MethodGet {
		s.fail(w, errIoTNotFound, "path", r.URL.Path)
		return
	}
	thing, aerr := s.thingOf(r)
	if aerr != nil {
		s.fail(w, *aerr, "alias", alias)
		return
	}
	ra, ok := s.aliases[alias]
	if !ok {
		s.fail(w, errIoTNoAlias, "alias", alias, "thing", thing)
		return
	}
	if len(ra.Things) > 0 && !slices.Contains(ra.Things, thing) {
		s.fail(w, errIoTDenied, "alias", alias, "thing", thing)
		return
	}
	c := s.issue(ra)
	var out iotCredentials
	out.Credentials.AccessKeyID = c.AccessKeyID
	out.Credentials.SecretAccessKey = c.SecretAccessKey
	out.Credentials.SessionToken = c.SessionToken
	out.Credentials.Expiration = c.Expiration.UTC().Format(time.RFC3339)
	body, _ := json.Marshal(out)
	e.log.Debug("IoT credentials issued", "alias", alias, "thing", thing, "credential", c, "expiration", c.Expiration)
	writeJSON(w, http.StatusOK, body)
}

// thingOf checks the client certificate and the x-amzn-iot-thingname
// header and returns the thing name. A certificate is valid when it chains
// to the emulator's CA for client auth; its CommonName is its thing. The
// header may be left out (the service needs it only for policy variables),
// but when sent it must name the certificate's thing.
func (s *iotServer) thingOf(r *http.Request) (string, *iotError) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", &errIoTCertificate
	}
	leaf := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: s.e.pki.pool, Intermediates: inter, CurrentTime: s.e.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		s.e.log.Debug("IoT client certificate refused", "subject", leaf.Subject.String(), "err", err)
		return "", &errIoTCertificate
	}
	thing := leaf.Subject.CommonName
	if got := r.Header.Get("x-amzn-iot-thingname"); got != "" && got != thing {
		return "", &errIoTThing
	}
	return thing, nil
}

func (s *iotServer) fail(w http.ResponseWriter, ie iotError, kv ...any) {
	s.e.log.Debug("IoT credentials refused", append([]any{"status", ie.status, "message", ie.message}, kv...)...)
	w.Header().Set("x-amzn-ErrorType", ie.code)
	body, _ := json.Marshal(map[string]string{"message": ie.message})
	writeJSON(w, ie.status, body)
}

// issue mints temporary credentials for ra and remembers them until an
// hour after they expire (later requests with them get ExpiredToken from
// the signature check until then, as STS credentials do).
func (s *iotServer) issue(ra RoleAlias) Credential {
	now := s.e.now()
	c := Credential{
		AccessKeyID:     "ASIA" + randomBase32(16),
		SecretAccessKey: randomBase64(30),
		SessionToken:    "IQoJb3JpZ2luX2VjE" + randomBase64(180),
		Expiration:      now.Add(ra.CredentialDuration).Truncate(time.Second),
		Account:         ra.Account,
		Actions:         slices.Clone(ra.Actions),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.issued {
		if now.Sub(old.Expiration) > time.Hour {
			delete(s.issued, id)
		}
	}
	s.issued[c.AccessKeyID] = c
	return c
}

func randomBase32(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)[:n]
}

func randomBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// mustCredential is credential for a key the signature check already
// found.
func (e *Emulator) mustCredential(id string) Credential {
	c, _ := e.credential(id)
	return c
}

// IoTEnv gives KEY=VALUE lines that point the C SDK (and kvsrtc) at the IoT
// credentials endpoint: AWS_IOT_CORE_CREDENTIAL_ENDPOINT, the first role
// alias as AWS_IOT_CORE_ROLE_ALIAS, and the CA as AWS_IOT_CORE_CA_CERT_PATH.
// The device certificate, key and thing name are the device's own. Nil
// without Options.IoT.
func (e *Emulator) IoTEnv() []string {
	if e.iot == nil {
		return nil
	}
	alias := DefaultRoleAlias
	if a := e.opts.IoT.RoleAliases; len(a) > 0 {
		alias = a[0].Alias
	}
	return []string{
		"AWS_IOT_CORE_CREDENTIAL_ENDPOINT=" + e.iot.host,
		"AWS_IOT_CORE_ROLE_ALIAS=" + alias,
		"AWS_IOT_CORE_CA_CERT_PATH=" + e.pki.caPath,
	}
}
