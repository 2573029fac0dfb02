package doctor

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// Defaults of [Options].
const (
	// DefaultStepTimeout bounds each network step (one call, one dial,
	// one allocation).
	DefaultStepTimeout = 10 * time.Second
	// DefaultAnswerTimeout is how long a viewer's media probe waits for a
	// master to answer its offer.
	DefaultAnswerTimeout = 10 * time.Second
	// DefaultFrameTimeout is how long a media probe waits for the first
	// frame once the offer is answered.
	DefaultFrameTimeout = 15 * time.Second
	// SkewLimit is SigV4's window: a request signed further than this from
	// the service's clock is refused ("Signature expired", spec §1.4).
	SkewLimit = 5 * time.Minute
	// ViewerGrace is how long a master's media probe goes on sending
	// after its first frame, unless the viewer leaves first.
	ViewerGrace = 3 * time.Second
	// SlowCall marks a control-plane call slow enough that a closer region
	// would help (far regions add seconds, spec §12 item 4).
	SlowCall = time.Second
)

// ErrNoConfig is returned by Run when Options.Config has no credentials
// provider and no Resolver.
var ErrNoConfig = errors.New("doctor: no aws.Config")

// Options configure [Run].
type Options struct {
	// Config gives the credentials, the HTTP client and the endpoint
	// settings (BaseEndpoint reaches an emulator). Required.
	Config aws.Config
	// Resolver calls the service. Nil: resolve.New(Config) with every
	// cache off, so each step really calls the service. Pass one with
	// NoCache set: a cached answer proves nothing.
	Resolver *resolve.Resolver
	// ChannelARN is the channel as given. An ARN with the wrong partition
	// for its region (a China ARN written arn:aws:) fails the ARN step and
	// the later steps run with the corrected ARN.
	ChannelARN string
	// ChannelName finds the channel with DescribeSignalingChannel when no
	// ChannelARN is given.
	ChannelName string
	// Region is the user's region; empty: the ARN's, else Config.Region.
	Region string
	// Role is master or viewer. Default viewer.
	Role channel.Role
	// ClientID is the viewer's client id. Default "doctor-<random>".
	ClientID string
	// HTTPClient opens the WebSocket. Nil: Config.HTTPClient when it is an
	// *http.Client (or has GetTransport), else http.DefaultClient.
	HTTPClient *http.Client
	// RootCAs verify TURN servers over TLS (turns:), and then the system
	// roots. Nil: the roots of HTTPClient's transport (an AWS_CA_BUNDLE),
	// else the system's alone.
	RootCAs *x509.CertPool
	// SettingEngine changes pion's SettingEngine of the media probes (tests
	// keep ICE on loopback).
	SettingEngine func(*webrtc.SettingEngine)
	// NoMedia leaves the media probes out.
	NoMedia bool
	// WaitViewer, for a master, waits this long for a viewer to join and
	// probes media with it. Zero: a master does not probe media.
	WaitViewer time.Duration
	// Video is what a master's media probe sends. Nil: a generated
	// H.264 test picture.
	Video *media.Source
	// StepTimeout bounds each network step. Default DefaultStepTimeout.
	StepTimeout time.Duration
	// AnswerTimeout bounds a viewer's wait for the master's answer.
	// Default DefaultAnswerTimeout.
	AnswerTimeout time.Duration
	// FrameTimeout bounds a media probe's wait for its first frame after
	// the answer. Default DefaultFrameTimeout.
	FrameTimeout time.Duration
	// OnCheck, if set, is called with each check as the report gets it,
	// in report order, on Run's goroutine.
	OnCheck func(Check)
	// OnProgress, if set, is told what a step that may take seconds is
	// waiting for ("allocating TURN relays on 6 URIs"), before it waits.
	// It may be called from several goroutines at once.
	OnProgress func(what string)
	// Logger receives debug lines. Nil discards them.
	Logger *slog.Logger
}

// state is one run: the report and what later steps need from earlier ones.
type state struct {
	opts   Options
	r      *resolve.Resolver
	log    *slog.Logger
	start  time.Time
	report Report

	region string
	arn    channel.ARN
	arnOK  bool // arn is usable (given and valid, corrected, or found by name)

	credsOK    bool          // the service accepted the credentials (or they could not be verified)
	credsBad   bool          // the service refused the credentials
	offset     time.Duration // service clock − local clock, from the probe
	offsetSeen bool

	controlPlaneOK bool // a control-plane call with these credentials succeeded
	ep             resolve.Endpoints
	epOK           bool
	ice            resolve.ICEConfig
	iceOK          bool
	connectOK      bool
	turnOK         map[string]bool // transport → some URI allocated
	turnListed     map[string]bool // transport → some URI listed

	mu sync.Mutex
}

// Run runs every step of a session in order, continuing past failures
// wherever a later step can still be tried, and returns the report. The
// error is for misuse (no Config) or a canceled ctx; failures of the
// service or the network are checks in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Config.Credentials == nil && opts.Resolver == nil && opts.Config.HTTPClient == nil && opts.Config.Region == "" {
		return nil, ErrNoConfig
	}
	if opts.Role == channel.RoleUnknown {
		opts.Role = channel.RoleViewer
	}
	if opts.ClientID == "" && opts.Role == channel.RoleViewer {
		var b [6]byte
		_, _ = rand.Read(b[:])
		opts.ClientID = "doctor-" + hex.EncodeToString(b[:])
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = DefaultStepTimeout
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = DefaultAnswerTimeout
	}
	if opts.FrameTimeout <= 0 {
		opts.FrameTimeout = DefaultFrameTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpClientOf(opts.Config)
	}
	if opts.RootCAs == nil {
		opts.RootCAs = rootsOf(opts.HTTPClient)
	}
	s := &state{opts: opts, log: opts.Logger.With("component", "doctor"), start: time.Now(), turnOK: map[string]bool{}, turnListed: map[string]bool{}}
	s.r = opts.Resolver
	if s.r == nil {
		s.r = resolve.New(opts.Config, resolve.Options{Region: opts.Region, NoCache: true, Logger: opts.Logger})
	}
	s.report = Report{Role: opts.Role.String(), Start: s.start, Channel: opts.ChannelARN}
	if s.report.Channel == "" {
		s.report.Channel = "channel/" + opts.ChannelName
	}
	s.region = s.guessRegion()
	s.report.Region = s.region

	s.checkCredentials(ctx)
	s.checkClock(ctx)
	s.checkARN(ctx)
	s.checkDescribe(ctx)
	s.checkEndpoints(ctx)
	s.checkParallel(ctx)
	s.checkMedia(ctx)
	if s.arnOK {
		s.report.Channel = s.arn.String()
	}
	return &s.report, ctx.Err()
}

// progress tells OnProgress what is being waited for.
func (s *state) progress(format string, args ...any) {
	if s.opts.OnProgress != nil {
		s.opts.OnProgress(fmt.Sprintf(format, args...))
	}
}

// ms is t as milliseconds since the run's start.
func (s *state) ms(t time.Time) float64 { return float64(t.Sub(s.start).Microseconds()) / 1000 }

// check builds a check that ran from from to to.
func (s *state) check(step Step, name, metric string, from, to time.Time) Check {
	return Check{Step: step, Name: name, Metric: metric, StartMs: s.ms(from), EndMs: s.ms(to),
		Ms: float64(to.Sub(from).Microseconds()) / 1000}
}

// add appends checks to the report in the order given and tells OnCheck.
func (s *state) add(cs ...Check) {
	for _, c := range cs {
		if c.Status == StatusFail && s.report.FirstFailure == "" {
			s.report.FirstFailure = c.Step
		}
		s.report.Checks = append(s.report.Checks, c)
		if s.opts.OnCheck != nil {
			s.opts.OnCheck(c)
		}
	}
}

// skip adds a check that did not run, saying why.
func (s *state) skip(step Step, name, metric, why string) {
	now := time.Now()
	c := s.check(step, name, metric, now, now)
	c.Status, c.Error = StatusSkip, why
	c.Ms = 0
	s.add(c)
}

// httpClientOf is cfg's HTTP client as an *http.Client, for the WebSocket.
func httpClientOf(cfg aws.Config) *http.Client {
	switch c := cfg.HTTPClient.(type) {
	case *http.Client:
		return c
	case interface{ GetTransport() *http.Transport }:
		return &http.Client{Transport: c.GetTransport()}
	}
	return http.DefaultClient
}

// rootsOf returns the CA pool c's transport trusts, or nil (the system's).
func rootsOf(c *http.Client) *x509.CertPool {
	if c == nil {
		return nil
	}
	if t, ok := c.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		return t.TLSClientConfig.RootCAs
	}
	return nil
}

// tlsConfig is the TLS configuration for a turns: server called host.
// With RootCAs set (a CA bundle), the system roots are trusted too, as
// the HTTPClient creds.Load builds does.
func (s *state) tlsConfig(host string) *tls.Config {
	if s.opts.RootCAs != nil {
		return creds.BundleTLSConfig(s.opts.RootCAs, host)
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}
