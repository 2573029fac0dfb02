package creds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// URLSource is the aws.Credentials Source of credentials from a [URLProvider].
const URLSource = "kvsrtc-credentials-url"

// DefaultURLTimeout bounds one fetch from a credentials URL.
const DefaultURLTimeout = 10 * time.Second

// maxBody bounds a credentials URL response.
const maxBody = 64 << 10

// URLProviderOptions configure a [URLProvider].
type URLProviderOptions struct {
	// URL is the user's credentials endpoint, http or https. Required.
	URL string
	// Authorization, if set, is sent as the Authorization header.
	Authorization string
	// AuthorizationSource says where Authorization came from, for hints in
	// errors (e.g. "$KVSRTC_CREDENTIALS_AUTH"). Never the value itself.
	AuthorizationSource string
	// HTTPClient sends the request. Default: a new aws-sdk-go-v2 BuildableClient.
	HTTPClient aws.HTTPClient
	// Timeout bounds one fetch. Default DefaultURLTimeout.
	Timeout time.Duration
	// Logger receives debug lines about fetches. Default: discard.
	Logger *slog.Logger
}

// URLProvider is an aws.CredentialsProvider that GETs credentials from a
// user's backend. It fetches on every Retrieve: wrap it in an
// aws.CredentialsCache (as [Load] does) to fetch only near expiry. It is safe
// for concurrent use.
type URLProvider struct {
	opts URLProviderOptions
	url  *url.URL
	safe string // the URL as errors and logs show it
	log  *slog.Logger

	mu     sync.Mutex
	region string
	arn    string
}

// NewURLProvider checks the options, fills defaults and returns a provider.
// optFns change a copy of opts; the caller's struct is not changed.
func NewURLProvider(opts URLProviderOptions, optFns ...func(*URLProviderOptions)) (*URLProvider, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.URL == "" {
		return nil, errors.New("credentials URL is empty")
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		// url.Parse errors repeat the whole URL, which may hold a token.
		return nil, errors.New("credentials URL does not parse as a URL")
	}
	safe := redactURL(u)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("credentials URL %s: scheme is %q: want http or https", safe, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("credentials URL %s has no host", safe)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = awshttp.NewBuildableClient()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultURLTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &URLProvider{opts: opts, url: u, safe: safe, log: opts.Logger.With("component", "creds")}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		p.log.Warn("credentials URL is plain HTTP: credentials will cross the network unencrypted", "url", safe)
	}
	return p, nil
}

// Retrieve fetches credentials from the URL. Errors are [*URLError] values that
// hold no secret. A successful fetch also records the response's region and
// channel ARN for [URLProvider.Region] and [URLProvider.ChannelARN].
func (p *URLProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	r, err := p.fetch(ctx)
	if err != nil {
		p.log.Debug("credentials URL fetch failed", "url", p.safe, "err", err)
		return aws.Credentials{Source: URLSource}, err
	}
	p.mu.Lock()
	p.region, p.arn = r.Region, r.ChannelARN
	p.mu.Unlock()
	p.log.Debug("fetched credentials", "url", p.safe, "credentials", r)
	return r.Credentials(URLSource), nil
}

// Region gives the region from the last successful fetch, or "" if the
// backend sent none or nothing was fetched yet.
func (p *URLProvider) Region() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.region
}

// ChannelARN gives the channel ARN from the last successful fetch, or "".
func (p *URLProvider) ChannelARN() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.arn
}

// String describes the provider without its secrets.
func (p *URLProvider) String() string {
	return fmt.Sprintf("URLProvider{URL:%s Authorization:%s}", p.safe, mask(p.opts.Authorization))
}

// LogValue describes the provider for slog without its secrets.
func (p *URLProvider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", p.safe),
		slog.String("authorization", mask(p.opts.Authorization)),
	)
}

func (p *URLProvider) fetch(ctx context.Context) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url.String(), nil)
	if err != nil {
		return Response{}, p.fail(0, "build request", nil)
	}
	req.Header.Set("Accept", "application/json")
	if p.opts.Authorization != "" {
		req.Header.Set("Authorization", p.opts.Authorization)
	}
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return Response{}, p.transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Response{}, p.transportError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		reason := fmt.Sprintf("answered %s (%s)", resp.Status, excerpt(body, p.opts.Authorization))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			reason += p.authHint()
		}
		return Response{}, p.fail(resp.StatusCode, reason, nil)
	}
	if len(body) > maxBody {
		return Response{}, p.fail(resp.StatusCode, fmt.Sprintf("response is larger than %d KiB", maxBody>>10), nil)
	}
	r, err := ParseResponse(body, time.Now())
	if err != nil {
		return Response{}, p.fail(resp.StatusCode, "", err)
	}
	return r, nil
}

// transportError reports a failed round trip. *url.Error is unwrapped because
// its text repeats the full URL, query included.
func (p *URLProvider) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return p.fail(0, fmt.Sprintf("no answer within %s", p.opts.Timeout), context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return p.fail(0, "request canceled", context.Canceled)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return p.fail(0, "request timed out", err)
	}
	return p.fail(0, "request failed", err)
}

func (p *URLProvider) fail(status int, reason string, err error) error {
	return &URLError{URL: p.safe, StatusCode: status, Reason: reason, Err: err}
}

func (p *URLProvider) authHint() string {
	src := p.opts.AuthorizationSource
	if src == "" {
		src = "the Authorization option"
	}
	if p.opts.Authorization == "" {
		return fmt.Sprintf("; no Authorization header was sent: set %s", src)
	}
	return fmt.Sprintf("; the Authorization header from %s was refused", src)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
