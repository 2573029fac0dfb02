package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/creds"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/wire"
)

// Environment variables of kvsrtc's own (AWS's are read by the SDK).
const (
	envCacheDir       = "KVSRTC_CACHE_DIR"       // where the endpoint/ICE cache lives
	envCredentialsURL = "KVSRTC_CREDENTIALS_URL" // default of --credentials-url
	envSTUNURL        = "KVSRTC_STUN_URL"        // default of --stun-url
)

// awsOptions are the flags every command that calls AWS shares.
type awsOptions struct {
	STUNURL        string
	Region         string
	Profile        string
	EndpointURL    string
	CABundle       string
	CredentialsURL string
	FIPS           bool
	DualStack      bool
	NoCache        bool
	JSON           bool
	Verbose        bool
	IoT            iotFlags

	webrtc bool // also resolve the WEBRTC endpoint (set by commands, not a shared flag)
}

// addAWSFlags registers the shared flags on cmd.
func addAWSFlags(cmd *cobra.Command, o *awsOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Region, "region", "", "AWS region; default: the channel ARN's (env AWS_REGION, which like the flag must match the ARN)")
	f.StringVar(&o.Profile, "profile", "", "shared config profile (env AWS_PROFILE)")
	f.StringVar(&o.EndpointURL, "endpoint-url", "", "control-plane endpoint, e.g. an emulator (env AWS_ENDPOINT_URL_KINESIS_VIDEO)")
	f.StringVar(&o.CABundle, "ca-bundle", "", "PEM file of extra CAs to trust (env AWS_CA_BUNDLE)")
	f.StringVar(&o.CredentialsURL, "credentials-url", os.Getenv(envCredentialsURL), "get credentials (and optionally region and channel ARN) from this URL (env "+envCredentialsURL+")")
	f.BoolVar(&o.FIPS, "fips", false, "use FIPS endpoints (env AWS_USE_FIPS_ENDPOINT)")
	f.BoolVar(&o.DualStack, "dualstack", false, "use dual-stack endpoints (env AWS_USE_DUALSTACK_ENDPOINT)")
	f.StringVar(&o.STUNURL, "stun-url", os.Getenv(envSTUNURL), "STUN URL listed first among the ICE servers instead of the region's KVS one (env "+envSTUNURL+"; `kvsrtc emulator` sets it)")
	f.BoolVar(&o.NoCache, "no-cache", false, "neither read nor write the endpoint and ICE cache (env "+envCacheDir+" moves it)")
	f.BoolVar(&o.JSON, "json", false, "print results as JSON")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "print each HTTP call with its latency, and the clock offset, on stderr")
	o.IoT.add(cmd)
}

// explicitRegion is the region the user set, by flag or AWS_REGION; it must
// agree with a channel ARN. A profile's region is only a default.
func (o *awsOptions) explicitRegion() string {
	if o.Region != "" {
		return o.Region
	}
	return os.Getenv("AWS_REGION")
}

// awsEnv is what a command needs to call KVS.
type awsEnv struct {
	cfg        aws.Config
	resolver   *resolve.Resolver
	channelARN string // from the credentials URL, if it sent one
	cachePath  string
	stderr     io.Writer
	verbose    bool
	logger     *slog.Logger // from --log-format and --log-level
}

// load builds the aws.Config (package creds: default chain or
// --credentials-url) and a Resolver. region is the region to call (an
// ARN's, or the explicit one); it may be empty when a credentials URL
// supplies it.
func (o *awsOptions) load(ctx context.Context, ios *IOStreams, region string) (*awsEnv, error) {
	iot, err := o.IoT.options()
	if err != nil {
		return nil, err
	}
	res, err := creds.Load(ctx, creds.Options{
		Region:         region,
		Profile:        o.Profile,
		CABundle:       o.CABundle,
		CredentialsURL: o.CredentialsURL,
		IoT:            iot,
		ExpiryWindow:   o.IoT.Refresh,
		Logger:         loggerFrom(ctx),
	})
	if err != nil {
		return nil, err
	}
	cfg := res.Config
	if o.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(o.EndpointURL)
	}
	if o.Verbose {
		next := cfg.HTTPClient
		if next == nil {
			next = awshttp.NewBuildableClient()
		}
		cfg.HTTPClient = &loggingClient{next: next, w: ios.ErrOut}
	}
	env := &awsEnv{cfg: cfg, channelARN: res.ChannelARN, stderr: ios.ErrOut, verbose: o.Verbose, logger: loggerFrom(ctx)}
	ropts := resolve.Options{Region: o.explicitRegion(), NoCache: o.NoCache, WebRTC: o.webrtc, STUNURL: o.STUNURL}
	if o.FIPS {
		ropts.UseFIPS = aws.FIPSEndpointStateEnabled
	}
	if o.DualStack {
		ropts.UseDualStack = aws.DualStackEndpointStateEnabled
	}
	if !o.NoCache {
		dir := os.Getenv(envCacheDir)
		if dir == "" {
			if dir, err = resolve.DefaultCacheDir(); err != nil {
				return nil, err
			}
		}
		fc := resolve.NewFileCache(dir, nil, nil)
		ropts.Cache, env.cachePath = fc, fc.Path()
	}
	env.resolver = resolve.New(cfg, ropts)
	return env, nil
}

// channelFlags select a channel by ARN or by name.
type channelFlags struct {
	ARN  string
	Name string
}

func (c *channelFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.ARN, "channel-arn", "", "signaling channel ARN")
	cmd.Flags().StringVar(&c.Name, "channel-name", "", "signaling channel name (looked up with DescribeSignalingChannel)")
}

// parse checks the flags before any call: at most one of ARN and name, a
// valid ARN whose region agrees with the explicit region. It returns the
// region to call: the explicit one, else the ARN's.
func (c *channelFlags) parse(o *awsOptions) (channel.ARN, string, error) {
	region := o.explicitRegion()
	if c.ARN != "" && c.Name != "" {
		return channel.ARN{}, "", usageErrorf("give --channel-arn or --channel-name, not both")
	}
	if c.Name != "" {
		if err := channel.ValidName(c.Name); err != nil {
			return channel.ARN{}, "", &UsageError{Err: err}
		}
	}
	if c.ARN == "" && c.Name == "" && o.IoT.Endpoint != "" && o.IoT.ThingName != "" {
		c.Name = o.IoT.ThingName // as the C SDK samples name the channel in IoT mode
	}
	if c.ARN == "" {
		return channel.ARN{}, region, nil
	}
	arn, err := channel.ParseARN(c.ARN)
	if err != nil {
		return channel.ARN{}, "", &UsageError{Err: err}
	}
	if err := channel.CheckRegion(arn, region); err != nil {
		return channel.ARN{}, "", &UsageError{Err: err}
	}
	return arn, arn.Region, nil
}

// channel finds the channel: the ARN given, or the name looked up, or the
// ARN the credentials URL sent.
func (e *awsEnv) channel(ctx context.Context, c *channelFlags, arn channel.ARN) (channel.ARN, error) {
	switch {
	case c.ARN != "":
		return arn, nil
	case c.Name != "":
		return e.resolver.ARNByName(ctx, "", c.Name)
	case e.channelARN != "":
		a, err := channel.ParseARN(e.channelARN)
		if err != nil {
			return channel.ARN{}, fmt.Errorf("channel ARN from the credentials URL: %w", err)
		}
		return a, nil
	}
	return channel.ARN{}, usageErrorf("give --channel-arn or --channel-name")
}

// done prints the clock offset with -v.
func (e *awsEnv) done() {
	if !e.verbose {
		return
	}
	off := e.resolver.ClockOffset().Round(time.Second)
	sign := "+"
	if off < 0 {
		sign = ""
	}
	// The Date header has whole seconds, so the offset is good to about 1 s.
	if off.Abs() >= 5*time.Minute {
		fmt.Fprintf(e.stderr, "clock offset %s%v (service − local): the local clock is off; requests were signed with the service's time\n", sign, off)
		return
	}
	fmt.Fprintf(e.stderr, "clock offset %s%v (service − local)\n", sign, off)
}

// loggingClient prints one line per HTTP call: method, URL (redacted),
// status and latency. Headers and bodies are never printed.
type loggingClient struct {
	next aws.HTTPClient
	w    io.Writer
}

// GetTransport is the wrapped client's transport, so that what reads the
// aws.Config's TLS trust from it (the WSS dial and TURN over TLS, through
// wssClient) keeps the CA bundle under -v.
func (c *loggingClient) GetTransport() *http.Transport {
	switch n := c.next.(type) {
	case interface{ GetTransport() *http.Transport }:
		return n.GetTransport()
	case *http.Client:
		if t, ok := n.Transport.(*http.Transport); ok {
			return t
		}
	}
	return nil
}

func (c *loggingClient) Do(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.next.Do(req)
	d := time.Since(start).Round(100 * time.Microsecond)
	u := wire.RedactURL(req.URL.String())
	if err != nil {
		fmt.Fprintf(c.w, "http %s %s failed after %v\n", req.Method, u, d)
		return resp, err
	}
	fmt.Fprintf(c.w, "http %s %s %d %v\n", req.Method, u, resp.StatusCode, d)
	return resp, nil
}

// Exit codes and hints for the errors of resolve, channel and creds.
func init() {
	classifiers = append(classifiers, classifyResolveError)
	hints = append(hints, hintResolveError)
}

func classifyResolveError(err error) int {
	var ue *creds.URLError
	switch {
	case errors.Is(err, resolve.ErrAuth), errors.Is(err, resolve.ErrClockSkew), errors.As(err, &ue),
		errors.Is(err, creds.ErrProcessOutput):
		return ExitAuth
	case errors.Is(err, resolve.ErrAccessDenied):
		return ExitDenied
	case errors.Is(err, resolve.ErrChannelNotFound):
		return ExitNotFound
	case errors.Is(err, resolve.ErrUnreachable):
		return ExitNetwork
	case errors.Is(err, resolve.ErrThrottled):
		return ExitThrottle
	case errors.Is(err, channel.ErrInvalidARN), errors.Is(err, channel.ErrRegionMismatch), errors.Is(err, channel.ErrInvalidName),
		errors.Is(err, channel.ErrInvalidRole), errors.Is(err, channel.ErrInvalidClientID), errors.Is(err, resolve.ErrNoRegion):
		return ExitUsage
	}
	return 0
}

func hintResolveError(err error) string {
	var ad *resolve.AccessDeniedError
	var ce *resolve.ClockSkewError
	var ue *creds.URLError
	switch {
	case errors.As(err, &ad):
		return fmt.Sprintf("allow %s on the channel in the IAM policy of this credential", ad.Action)
	case errors.As(err, &ce):
		return "set the system clock (e.g. enable NTP); the service's Date header could not be used to correct it"
	case errors.As(err, &ue):
		return "check --credentials-url and that the backend answers with credentials JSON"
	case errors.Is(err, resolve.ErrAuth):
		return "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, --profile) or refresh them (aws sso login)"
	case errors.Is(err, resolve.ErrChannelNotFound):
		return "check the channel ARN or name and the region; list channels with `kvsrtc channel list`"
	case errors.Is(err, resolve.ErrUnreachable):
		return "check the network, --endpoint-url (AWS_ENDPOINT_URL_KINESIS_VIDEO) and --ca-bundle (AWS_CA_BUNDLE)"
	case errors.Is(err, resolve.ErrThrottled):
		return "the account or channel is over its API rate; wait and try again"
	case errors.Is(err, resolve.ErrNoRegion):
		return "pass --region or set AWS_REGION"
	}
	return ""
}
