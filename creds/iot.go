package creds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// IoTSource is the aws.Credentials Source of credentials from an [IoTProvider].
const IoTSource = "kvsrtc-iot-credentials-provider"

// DefaultIoTTimeout bounds one request to the IoT credentials endpoint: the
// C SDK's IOT_REQUEST_CONNECTION_TIMEOUT (3 s) plus
// IOT_REQUEST_COMPLETION_TIMEOUT (5 s), IotCredentialProvider.h in
// amazon-kinesis-video-streams-producer-c.
const DefaultIoTTimeout = 8 * time.Second

// The environment variables of the C SDK's samples (samples/Common.c,
// Samples.h) and canaries for the IoT credentials provider.
const (
	EnvIoTEndpoint   = "AWS_IOT_CORE_CREDENTIAL_ENDPOINT"
	EnvIoTCert       = "AWS_IOT_CORE_CERT"
	EnvIoTPrivateKey = "AWS_IOT_CORE_PRIVATE_KEY"
	EnvIoTRoleAlias  = "AWS_IOT_CORE_ROLE_ALIAS"
	EnvIoTThingName  = "AWS_IOT_CORE_THING_NAME"
	// EnvIoTCACert names the CA bundle for the endpoint; the C SDK's
	// WebRTC samples use AWS_KVS_CACERT_PATH for it, its canaries this.
	EnvIoTCACert = "AWS_IOT_CORE_CA_CERT_PATH"
)

// IoTProviderOptions configure an [IoTProvider]: an X.509 device
// certificate exchanged for temporary credentials through an IoT role alias
// (AWS IoT "Authorizing direct calls to AWS services").
type IoTProviderOptions struct {
	// Endpoint is the account's credentials endpoint, as
	// `aws iot describe-endpoint --endpoint-type iot:CredentialProvider`
	// prints it: host or host:port, or an https:// URL. Required.
	Endpoint string
	// RoleAlias names the IoT role alias to assume. Required.
	RoleAlias string
	// ThingName is sent as x-amzn-iot-thingname. The C SDK always sends
	// one; the service needs it when policies use thing variables.
	ThingName string
	// CertFile and KeyFile are the device certificate and private key in
	// PEM. They are read again on every fetch, so a rotated certificate is
	// picked up. Required unless Certificate is set.
	CertFile, KeyFile string
	// Certificate replaces CertFile and KeyFile.
	Certificate *tls.Certificate
	// CAFile is a PEM bundle that the endpoint's certificate must chain
	// to. Default: RootCAs, else the system roots.
	CAFile string
	// RootCAs is used when CAFile is empty.
	RootCAs *x509.CertPool
	// Timeout bounds one fetch. Default DefaultIoTTimeout.
	Timeout time.Duration
	// Logger receives debug lines about fetches. Default: discard.
	Logger *slog.Logger
}

// IoTProvider is an aws.CredentialsProvider that exchanges a device
// certificate for temporary credentials at the AWS IoT credentials provider:
// GET https://<endpoint>/role-aliases/<alias>/credentials over mutual TLS,
// answered with {"credentials":{"accessKeyId","secretAccessKey",
// "sessionToken","expiration"}} (the C SDK's IotCredentialProvider.c does
// the same). It fetches on every Retrieve: wrap it in an
// aws.CredentialsCache (as [Load] does) to fetch only near expiry. It is
// safe for concurrent use.
type IoTProvider struct {
	opts IoTProviderOptions
	url  string
	host string // for errors and logs
	log  *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	client *http.Client
}

// NewIoTProvider checks the options, loads the certificate and CA, and
// returns a provider. optFns change a copy of opts.
func NewIoTProvider(opts IoTProviderOptions, optFns ...func(*IoTProviderOptions)) (*IoTProvider, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Endpoint == "" {
		return nil, fmt.Errorf("IoT credentials endpoint is empty (set %s)", EnvIoTEndpoint)
	}
	if opts.RoleAlias == "" {
		return nil, fmt.Errorf("IoT role alias is empty (set %s)", EnvIoTRoleAlias)
	}
	if strings.ContainsAny(opts.RoleAlias, "/?#% ") {
		return nil, fmt.Errorf("IoT role alias %q: want letters, digits and =,@- only", opts.RoleAlias)
	}
	base := opts.Endpoint
	if !strings.Contains(base, "://") {
		base = "https://" + base // as the C SDK prefixes CONTROL_PLANE_URI_PREFIX
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("IoT credentials endpoint %q: want a host name, host:port or https URL", opts.Endpoint)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("IoT credentials endpoint %s: scheme is %q: the endpoint needs https (mutual TLS)", u.Host, u.Scheme)
	}
	if opts.Certificate == nil && (opts.CertFile == "" || opts.KeyFile == "") {
		return nil, fmt.Errorf("IoT device certificate and private key are required (set %s and %s)", EnvIoTCert, EnvIoTPrivateKey)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultIoTTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &IoTProvider{
		opts: opts,
		url:  "https://" + u.Host + strings.TrimSuffix(u.Path, "/") + "/role-aliases/" + url.PathEscape(opts.RoleAlias) + "/credentials",
		host: u.Host,
		log:  opts.Logger.With("component", "creds"),
	}
	roots := opts.RootCAs
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read IoT CA bundle: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("IoT CA bundle %s holds no PEM certificate", opts.CAFile)
		}
	}
	if err := p.loadCertificate(); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: opts.Timeout,
		IdleConnTimeout:     30 * time.Second,
		TLSClientConfig: &tls.Config{
			RootCAs:    roots,
			MinVersion: tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				p.mu.Lock()
				defer p.mu.Unlock()
				return p.cert, nil
			},
		},
	}
	p.client = &http.Client{Transport: tr, Timeout: opts.Timeout}
	return p, nil
}

// loadCertificate (re)reads the certificate files. The key's content never
// reaches an error: tls.LoadX509KeyPair's messages name only what is wrong.
func (p *IoTProvider) loadCertificate() error {
	if p.opts.Certificate != nil {
		p.mu.Lock()
		p.cert = p.opts.Certificate
		p.mu.Unlock()
		return nil
	}
	c, err := tls.LoadX509KeyPair(p.opts.CertFile, p.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("load IoT device certificate %s and key %s: %w", p.opts.CertFile, p.opts.KeyFile, err)
	}
	p.mu.Lock()
	p.cert = &c
	p.mu.Unlock()
	return nil
}

// Retrieve fetches credentials from the endpoint. Errors are [*IoTError]
// values that hold no secret.
func (p *IoTProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if p.opts.Certificate == nil {
		if err := p.loadCertificate(); err != nil {
			// Keep the certificate already loaded: a file being replaced
			// may read half-written for a moment.
			p.log.Warn("IoT device certificate could not be read again; using the one loaded before", "err", err)
		}
	}
	c, err := p.fetch(ctx)
	if err != nil {
		p.log.Debug("IoT credentials fetch failed", "endpoint", p.host, "role_alias", p.opts.RoleAlias, "err", err)
		return aws.Credentials{Source: IoTSource}, err
	}
	p.log.Debug("fetched IoT credentials", "endpoint", p.host, "role_alias", p.opts.RoleAlias,
		"access_key_id", c.AccessKeyID, "expires", c.Expires)
	return c, nil
}

// String describes the provider without secrets.
func (p *IoTProvider) String() string {
	return fmt.Sprintf("IoTProvider{Endpoint:%s RoleAlias:%s ThingName:%s}", p.host, p.opts.RoleAlias, p.opts.ThingName)
}

// LogValue describes the provider for slog without secrets.
func (p *IoTProvider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", p.host), slog.String("role_alias", p.opts.RoleAlias),
		slog.String("thing_name", p.opts.ThingName))
}

// iotResponse is the endpoint's success body.
type iotResponse struct {
	Credentials *struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
		Expiration      string `json:"expiration"`
	} `json:"credentials"`
}

func (p *IoTProvider) fetch(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return aws.Credentials{}, p.fail(0, "", "build request", nil)
	}
	req.Header.Set("Accept", "application/json")
	if p.opts.ThingName != "" {
		req.Header.Set("x-amzn-iot-thingname", p.opts.ThingName)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return aws.Credentials{}, p.transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return aws.Credentials{}, p.transportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		return aws.Credentials{}, p.fail(resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), serviceMessage(body), nil)
	}
	var r iotResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Credentials == nil {
		// Never quote the body: it may hold half a secret.
		return aws.Credentials{}, p.fail(resp.StatusCode, "", `answer is not {"credentials": {...}} JSON`, nil)
	}
	c := r.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		return aws.Credentials{}, p.fail(resp.StatusCode, "", "answer lacks accessKeyId, secretAccessKey or sessionToken", nil)
	}
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil {
		return aws.Credentials{}, p.fail(resp.StatusCode, "", fmt.Sprintf("expiration %q is not an RFC 3339 time", excerptValue(c.Expiration)), nil)
	}
	return aws.Credentials{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Source: IoTSource, CanExpire: true, Expires: exp,
	}, nil
}

// serviceMessage gives the "message" of an error body ({"message": "..."}
// is the service's shape), else a withheld or short excerpt.
func serviceMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		msg := []rune(m.Message)
		if len(msg) > maxExcerpt {
			msg = append(msg[:maxExcerpt], '…')
		}
		return string(msg)
	}
	return excerpt(body)
}

// excerptValue cuts a value that should be short to a printable size.
func excerptValue(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// transportError reports a failed round trip; *url.Error is unwrapped as
// its text repeats the URL.
func (p *IoTProvider) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return p.fail(0, "", fmt.Sprintf("no answer within %s", p.opts.Timeout), context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return p.fail(0, "", "request canceled", context.Canceled)
	case errors.As(err, &ne) && ne.Timeout():
		return p.fail(0, "", "request timed out", err)
	}
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	if errors.As(err, &uae) || errors.As(err, &hne) {
		return p.fail(0, "", "the endpoint's TLS certificate is not trusted (give its CA with "+EnvIoTCACert+")", err)
	}
	return p.fail(0, "", "request failed", err)
}

func (p *IoTProvider) fail(status int, code, reason string, err error) error {
	return &IoTError{Endpoint: p.host, RoleAlias: p.opts.RoleAlias, ThingName: p.opts.ThingName,
		StatusCode: status, Code: code, Reason: reason, Err: err}
}

// IoTError reports an IoT credentials endpoint that did not supply
// credentials. Its text holds no secret.
type IoTError struct {
	// Endpoint is the credentials endpoint host.
	Endpoint string
	// RoleAlias and ThingName are those of the request.
	RoleAlias, ThingName string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// Code is the x-amzn-ErrorType, e.g. "AccessDeniedException", or "".
	Code string
	// Reason is the service's message or what went wrong.
	Reason string
	// Err is the cause, if any (a network or TLS error).
	Err error
}

// Error gives "IoT credentials endpoint <host> (role alias <a>, thing <t>):
// <status> <code>: <reason>[: <cause>]".
func (e *IoTError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "IoT credentials endpoint %s (role alias %s", e.Endpoint, e.RoleAlias)
	if e.ThingName != "" {
		fmt.Fprintf(&b, ", thing %s", e.ThingName)
	}
	b.WriteString(")")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap gives the cause.
func (e *IoTError) Unwrap() error { return e.Err }

// Hint says what a person can do about the error, from the service's
// messages (as the service words them), or "".
func (e *IoTError) Hint() string {
	switch {
	case strings.Contains(e.Reason, "Certificate is invalid"):
		return "the endpoint does not know this device certificate: register it with AWS IoT (activate it) or pass the right one (" + EnvIoTCert + ", " + EnvIoTPrivateKey + ")"
	case strings.Contains(e.Reason, "Invalid thing name"):
		return "the thing name is not attached to this certificate: check " + EnvIoTThingName + " (or --iot-thing-name)"
	case strings.Contains(e.Reason, "Role alias does not exist"):
		return "check " + EnvIoTRoleAlias + " (or --iot-role-alias) against `aws iot list-role-aliases`"
	case e.StatusCode == http.StatusForbidden:
		return "the certificate's IoT policy must allow iot:AssumeRoleWithCertificate on the role alias"
	case e.StatusCode == http.StatusBadRequest:
		return "the role alias's IAM role cannot be assumed: check its trust policy (credentials.iot.amazonaws.com) and MaxSessionDuration"
	case e.StatusCode == 0:
		return "check " + EnvIoTEndpoint + " (`aws iot describe-endpoint --endpoint-type iot:CredentialProvider`) and the network"
	}
	return ""
}
