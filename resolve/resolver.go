package resolve

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/kvsrtc/kvsrtc/channel"
)

// Defaults of [Options].
const (
	// DefaultEndpointTTL is how long endpoints are reused: the C SDK's
	// SIGNALING_DEFAULT_API_CALL_CACHE_TTL (spec §5.4).
	DefaultEndpointTTL = 10 * time.Hour
	// DefaultICEMargin is how long before their Ttl ends ICE servers are
	// fetched again: the C SDK's ICE_CONFIGURATION_REFRESH_GRACE_PERIOD (§5.3).
	DefaultICEMargin = 30 * time.Second
	// DefaultMaxAttempts is how many times a call is tried when the
	// aws.Config sets no retryer: one more than the SDK's 3, since
	// ClientLimitExceededException is retried too.
	DefaultMaxAttempts = 5
)

// throttleCode is KVS's throttling error (a 400, spec §5.1), which the SDK's
// retryers do not retry by themselves.
const throttleCode = "ClientLimitExceededException"

// Options configure a [Resolver]. The zero value is usable.
type Options struct {
	// Region, if set, is the user's region override: a channel ARN in
	// another region is refused with [ErrRegionMismatch]. Empty: each call
	// uses its channel's region.
	Region string
	// Cache keeps results across processes, e.g. a [FileCache]. Results are
	// also kept in memory. Nil: memory only.
	Cache Cache
	// NoCache turns every cache off: each call goes to the service.
	NoCache bool
	// EndpointTTL is how long endpoints are reused. Default DefaultEndpointTTL.
	EndpointTTL time.Duration
	// ICEMargin is subtracted from the smallest Ttl of the ICE servers to
	// give their cache lifetime; at most half the Ttl is taken. Default
	// DefaultICEMargin.
	ICEMargin time.Duration
	// Now is the local clock for cache lifetimes (tests move it). Signing
	// always uses the real clock plus the measured offset. Default time.Now.
	Now func() time.Time
	// UseFIPS and UseDualStack override the SDK's own switches
	// (AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, shared config) for
	// the control plane and the STUN URL. Unset: follow the aws.Config.
	UseFIPS      aws.FIPSEndpointState
	UseDualStack aws.DualStackEndpointState
	// STUNURL replaces the region's KVS STUN URL (e.g. a local STUN server
	// next to an emulator). Default: [STUNURL] of the channel's region.
	STUNURL string
	// WebRTC also asks for the WEBRTC (ingestion) endpoint; the channel
	// must have media storage enabled.
	WebRTC bool
	// Logger receives debug lines (cache hits, fetches, clock offset).
	// Nil discards them.
	Logger *slog.Logger
}

// Resolver turns a channel and role into signaling endpoints and ICE
// servers, with caches. It is safe for concurrent use.
type Resolver struct {
	cfg        aws.Config
	opts       Options
	client     *kinesisvideo.Client
	retryer    aws.RetryerV2
	signer     *v4.Signer
	httpClient aws.HTTPClient
	clock      clock
	mem        *MemoryCache
	log        *slog.Logger
	fips, dual bool
	base       string // the control-plane endpoint override, or ""
}

// New returns a Resolver that calls the service with cfg's credentials,
// HTTP client, retryer and endpoint settings (BaseEndpoint or
// AWS_ENDPOINT_URL_KINESIS_VIDEO reach an emulator). optFns change a copy
// of opts.
func New(cfg aws.Config, opts Options, optFns ...func(*Options)) *Resolver {
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.EndpointTTL <= 0 {
		opts.EndpointTTL = DefaultEndpointTTL
	}
	if opts.ICEMargin <= 0 {
		opts.ICEMargin = DefaultICEMargin
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Resolver{cfg: cfg, opts: opts, log: opts.Logger.With("component", "resolve"), signer: v4.NewSigner()}
	r.clock.now = time.Now
	r.mem = NewMemoryCache(opts.Now)
	r.retryer = newRetryer(cfg)
	r.client = kinesisvideo.NewFromConfig(cfg, func(o *kinesisvideo.Options) {
		o.Retryer = r.retryer
		if opts.UseFIPS != aws.FIPSEndpointStateUnset {
			o.EndpointOptions.UseFIPSEndpoint = opts.UseFIPS
		}
		if opts.UseDualStack != aws.DualStackEndpointStateUnset {
			o.EndpointOptions.UseDualStackEndpoint = opts.UseDualStack
		}
	})
	co := r.client.Options()
	r.fips = co.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled
	r.dual = co.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled
	r.base = aws.ToString(co.BaseEndpoint)
	r.httpClient = co.HTTPClient
	return r
}

// newRetryer is cfg's retryer (or the SDK's standard one with
// DefaultMaxAttempts) that also retries ClientLimitExceededException, with
// the SDK's exponential backoff and jitter. One instance serves every call,
// so they share its retry quota.
func newRetryer(cfg aws.Config) aws.RetryerV2 {
	var r aws.Retryer
	if cfg.Retryer != nil {
		r = cfg.Retryer()
	} else {
		r = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = DefaultMaxAttempts
			if cfg.RetryMaxAttempts > 0 {
				o.MaxAttempts = cfg.RetryMaxAttempts
			}
		})
	}
	r = retry.AddWithErrorCodes(r, throttleCode)
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2
	}
	return retryerV2{r}
}

type retryerV2 struct{ aws.Retryer }

func (r retryerV2) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}

// Client is the control-plane client the Resolver uses, with its retryer
// and endpoint settings, for the other channel operations.
func (r *Resolver) Client() *kinesisvideo.Client { return r.client }

// Clock returns the service's time as best known: the local clock plus
// [Resolver.ClockOffset]. Sign presigned URLs with it.
func (r *Resolver) Clock() func() time.Time { return r.clock.Now }

// Now is the local clock cache lifetimes are measured with (Options.Now):
// compare an [ICEConfig]'s or [Endpoints]' Expires with it.
func (r *Resolver) Now() time.Time { return r.opts.Now() }

// ClockOffset is the service's clock minus the local clock, measured from
// the Date header of the latest response (0 before any).
func (r *Resolver) ClockOffset() time.Duration { return r.clock.Offset() }

// ControlPlaneURL is the control-plane URL for region: the endpoint
// override if there is one, else the SDK's resolved URL (see the package
// function [ControlPlaneURL]).
func (r *Resolver) ControlPlaneURL(region string) (string, error) {
	if r.base != "" {
		return r.base, nil
	}
	return ControlPlaneURL(region, r.fips, r.dual)
}

// STUNURL is the STUN URL listed first among the ICE servers for region.
func (r *Resolver) STUNURL(region string) (string, error) {
	if r.opts.STUNURL != "" {
		return r.opts.STUNURL, nil
	}
	return STUNURL(region, r.fips, r.dual)
}

// Endpoints are a channel's signaling endpoints for one role.
type Endpoints struct {
	// ChannelARN is the channel.
	ChannelARN string `json:"channelArn"`
	// Role is MASTER or VIEWER.
	Role channel.Role `json:"role"`
	// HTTPS is the data-plane endpoint (GetIceServerConfig), e.g.
	// https://r-1a2b3c4d.kinesisvideo.us-west-2.amazonaws.com.
	HTTPS string `json:"https"`
	// WSS is the signaling endpoint to presign and dial.
	WSS string `json:"wss"`
	// WebRTC is the ingestion endpoint, when asked for (Options.WebRTC).
	WebRTC string `json:"webrtc,omitempty"`
	// FetchedAt is when the service returned them.
	FetchedAt time.Time `json:"fetchedAt"`
	// Expires is when they are fetched again at the latest.
	Expires time.Time `json:"expires"`
	// FromCache reports whether they came from a cache rather than a call.
	FromCache bool `json:"-"`
}

// check validates an ARN and role before any call.
func (r *Resolver) check(arn channel.ARN, role channel.Role) error {
	if err := arn.Validate(); err != nil {
		return err
	}
	if err := channel.CheckRegion(arn, r.opts.Region); err != nil {
		return err
	}
	if role != channel.RoleMaster && role != channel.RoleViewer {
		_, err := channel.ParseRole(role.String())
		return err
	}
	return nil
}

func inRegion(region string) func(*kinesisvideo.Options) {
	return func(o *kinesisvideo.Options) { o.Region = region }
}

// Endpoints returns the channel's endpoints for role, from a cache while
// they last (Options.EndpointTTL), else from GetSignalingChannelEndpoint,
// mapped by Protocol (the list's order is not promised, spec §2.2).
func (r *Resolver) Endpoints(ctx context.Context, arn channel.ARN, role channel.Role) (Endpoints, error) {
	what := "resolve endpoints for channel/" + arn.Name
	if err := r.check(arn, role); err != nil {
		return Endpoints{}, fmt.Errorf("%s: %w", what, err)
	}
	key := cacheKey(kindEndpoints, arn, role, "")
	var ep Endpoints
	if r.load(ctx, key, &ep) && (ep.WebRTC != "" || !r.opts.WebRTC) {
		ep.FromCache = true
		r.log.Debug("endpoints from cache", "channel", arn.String(), "role", role.String(), "expires", ep.Expires)
		return ep, nil
	}
	protocols := []types.ChannelProtocol{types.ChannelProtocolWss, types.ChannelProtocolHttps}
	if r.opts.WebRTC {
		protocols = append(protocols, types.ChannelProtocolWebrtc)
	}
	out, err := r.client.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{
		ChannelARN: aws.String(arn.String()),
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: protocols,
			Role:      types.ChannelRole(role.String()),
		},
	}, inRegion(arn.Region))
	if err != nil {
		r.observeError(err)
		return Endpoints{}, fmt.Errorf("%s: %w", what, Classify(err, "kinesisvideo:GetSignalingChannelEndpoint", arn.String()))
	}
	r.clock.observeMetadata(out.ResultMetadata)
	now := r.opts.Now()
	ep = Endpoints{ChannelARN: arn.String(), Role: role, FetchedAt: now, Expires: now.Add(r.opts.EndpointTTL)}
	got := map[string]string{}
	var gotNames []string
	for _, item := range out.ResourceEndpointList {
		p := strings.ToUpper(string(item.Protocol))
		got[p] = aws.ToString(item.ResourceEndpoint)
		gotNames = append(gotNames, p)
	}
	for _, p := range protocols {
		u, ok := got[string(p)]
		if !ok || u == "" {
			return Endpoints{}, fmt.Errorf("%s: %w", what, &EndpointMissingError{Protocol: string(p), Got: gotNames})
		}
		if err := r.checkScheme(string(p), u); err != nil {
			return Endpoints{}, fmt.Errorf("%s: %w", what, err)
		}
		switch p {
		case types.ChannelProtocolHttps:
			ep.HTTPS = u
		case types.ChannelProtocolWss:
			ep.WSS = u
		case types.ChannelProtocolWebrtc:
			ep.WebRTC = u
		}
	}
	r.save(ctx, key, ep, ep.Expires)
	r.log.Debug("fetched endpoints", "channel", arn.String(), "role", role.String())
	return ep, nil
}

// checkScheme refuses an endpoint whose scheme is not the protocol's:
// https and wss, or http and ws when the control plane itself is plain
// HTTP (an emulator run with --insecure-http).
func (r *Resolver) checkScheme(protocol, endpoint string) error {
	u, err := url.Parse(endpoint)
	want := map[string]string{"HTTPS": "https", "WEBRTC": "https", "WSS": "wss"}[protocol]
	plain := map[string]string{"https": "http", "wss": "ws"}[want]
	insecure := strings.HasPrefix(r.base, "http://")
	if err != nil || u.Host == "" || (u.Scheme != want && !(insecure && u.Scheme == plain)) {
		return fmt.Errorf("%s endpoint %q: want a %s:// URL", protocol, endpoint, want)
	}
	return nil
}

// observeError records the offset shown by an error response's Date.
func (r *Resolver) observeError(err error) {
	if re := responseOf(err); re != nil && re.Response != nil {
		now := time.Now()
		if d, ok := measure(re.Response.Header, now, now); ok {
			r.clock.set(d)
		}
	}
}

// ARNByName finds the ARN of the channel called name in region with
// DescribeSignalingChannel, cached like endpoints. An empty region means
// Options.Region, else the aws.Config's. A channel being deleted counts as
// not found.
func (r *Resolver) ARNByName(ctx context.Context, region, name string) (channel.ARN, error) {
	what := "find channel " + name
	if err := channel.ValidName(name); err != nil {
		return channel.ARN{}, fmt.Errorf("%s: %w", what, err)
	}
	if region == "" {
		region = r.opts.Region
	}
	if region == "" {
		region = r.cfg.Region
	}
	if region == "" {
		return channel.ARN{}, fmt.Errorf("%s: %w: set a region (--region, AWS_REGION) or give the channel ARN", what, ErrNoRegion)
	}
	if r.opts.Region != "" && region != r.opts.Region {
		return channel.ARN{}, fmt.Errorf("%s: %w: region %s, override %s", what, ErrRegionMismatch, region, r.opts.Region)
	}
	what += " in " + region
	key := nameKey(region, name)
	var s string
	if r.load(ctx, key, &s) {
		if arn, err := channel.ParseARN(s); err == nil {
			return arn, nil
		}
	}
	out, err := r.client.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String(name)}, inRegion(region))
	if err != nil {
		r.observeError(err)
		return channel.ARN{}, fmt.Errorf("%s: %w", what, Classify(err, "kinesisvideo:DescribeSignalingChannel", ""))
	}
	r.clock.observeMetadata(out.ResultMetadata)
	info := out.ChannelInfo
	if info == nil || info.ChannelARN == nil {
		return channel.ARN{}, fmt.Errorf("%s: DescribeSignalingChannel returned no ChannelARN", what)
	}
	if info.ChannelStatus == types.StatusDeleting {
		return channel.ARN{}, fmt.Errorf("%s: %w: %s is being deleted", what, ErrChannelNotFound, aws.ToString(info.ChannelARN))
	}
	arn, err := channel.ParseARN(*info.ChannelARN)
	if err != nil {
		return channel.ARN{}, fmt.Errorf("%s: %w", what, err)
	}
	r.save(ctx, key, arn.String(), r.opts.Now().Add(r.opts.EndpointTTL))
	return arn, nil
}

func nameKey(region, name string) string {
	return "name|" + channel.PartitionForRegion(region) + "|" + region + "|" + name
}

// Invalidate forgets the cached endpoints and ICE servers of a channel for
// role (RoleUnknown: every role), in memory and in the shared cache. Call it
// on the first failure to use them; the next call fetches them again.
func (r *Resolver) Invalidate(ctx context.Context, arn channel.ARN, role channel.Role) error {
	return r.invalidate(ctx, arn, role, kindEndpoints, kindICE)
}

// InvalidateICE forgets only the cached ICE servers of a channel and role
// (all roles for RoleUnknown), keeping its endpoints: what
// RECONNECT_ICE_SERVER calls for (the C SDK goes back to GET_ICE_CONFIG,
// spec §4.5).
func (r *Resolver) InvalidateICE(ctx context.Context, arn channel.ARN, role channel.Role) error {
	return r.invalidate(ctx, arn, role, kindICE)
}

func (r *Resolver) invalidate(ctx context.Context, arn channel.ARN, role channel.Role, kinds ...string) error {
	var prefixes []string
	for _, kind := range kinds {
		p := kind + "|" + arn.Partition + "|" + arn.Region + "|" + arn.String() + "|"
		if role != channel.RoleUnknown {
			p += role.String() // MASTER and VIEWER are not prefixes of each other
		}
		prefixes = append(prefixes, p)
	}
	return r.deletePrefixes(ctx, prefixes...)
}

// InvalidateName forgets the cached ARN of the channel called name.
func (r *Resolver) InvalidateName(ctx context.Context, region, name string) error {
	return r.deletePrefixes(ctx, nameKey(region, name))
}

func (r *Resolver) deletePrefixes(ctx context.Context, prefixes ...string) error {
	for _, p := range prefixes {
		p = r.scoped(p)
		r.mem.Delete(ctx, p)
		if r.opts.Cache != nil {
			if err := r.opts.Cache.Delete(ctx, p); err != nil {
				return fmt.Errorf("invalidate cache: %w", err)
			}
		}
	}
	return nil
}

// scoped puts the control-plane endpoint override (BaseEndpoint, e.g. an
// emulator's URL) in front of a cache key: answers of one endpoint are
// never served for another (a warm cache used to answer for a wrong
// --endpoint-url, and the session then dialled the old endpoint's WSS).
// Without an override the key is as before.
func (r *Resolver) scoped(key string) string {
	if r.base == "" {
		return key
	}
	return "url=" + r.base + "|" + key
}

// load reads key from memory, then from the shared cache, into v; only
// unexpired entries count.
func (r *Resolver) load(ctx context.Context, key string, v any) bool {
	if r.opts.NoCache {
		return false
	}
	now := r.opts.Now()
	key = r.scoped(key)
	e, ok, _ := r.mem.Load(ctx, key)
	if (!ok || !now.Before(e.Expires)) && r.opts.Cache != nil {
		var err error
		e, ok, err = r.opts.Cache.Load(ctx, key)
		if err != nil {
			r.log.Debug("cache load", "err", err)
		}
		if ok && now.Before(e.Expires) {
			r.mem.Store(ctx, key, e)
		}
	}
	if !ok || !now.Before(e.Expires) {
		return false
	}
	return json.Unmarshal(e.Value, v) == nil
}

// save stores v under key in memory and in the shared cache. A cache that
// cannot be written is logged, not fatal: the result is still good.
func (r *Resolver) save(ctx context.Context, key string, v any, expires time.Time) {
	if r.opts.NoCache {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	e := CacheEntry{Expires: expires, Value: data}
	key = r.scoped(key)
	r.mem.Store(ctx, key, e)
	if r.opts.Cache != nil {
		if err := r.opts.Cache.Store(ctx, key, e); err != nil {
			r.log.Warn("cache not written", "err", err)
		}
	}
}
