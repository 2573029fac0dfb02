package resolve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

// ICEServer is one entry of an RTCPeerConnection's iceServers.
type ICEServer struct {
	// URLs are stun:, turn: or turns: URLs.
	URLs []string `json:"urls"`
	// Username and Credential are the TURN credentials (empty for STUN).
	// Credential is a secret: print [ICEServer.Redacted].
	Username   string `json:"username,omitempty"`
	Credential string `json:"credential,omitempty"`
	// Expires is when the TURN credentials stop working (zero for STUN).
	Expires time.Time `json:"expires,omitzero"`
}

// Redacted returns s with the credential replaced by "****".
func (s ICEServer) Redacted() ICEServer {
	s.Credential = wire.RedactSecret(s.Credential)
	return s
}

// String prints s without its credential.
func (s ICEServer) String() string {
	r := s.Redacted()
	return fmt.Sprintf("{URLs:%v Username:%s Credential:%s Expires:%s}", r.URLs, r.Username, r.Credential, r.Expires.Format(time.RFC3339))
}

// LogValue logs s without its credential.
func (s ICEServer) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("urls", s.URLs), slog.String("username", s.Username),
		slog.String("credential", wire.RedactSecret(s.Credential)), slog.Time("expires", s.Expires))
}

// ICEConfig is what a peer connection needs to reach its peer: the KVS STUN
// server first, then the TURN servers of GetIceServerConfig.
type ICEConfig struct {
	Servers []ICEServer `json:"servers"`
	// FetchedAt is when GetIceServerConfig answered.
	FetchedAt time.Time `json:"fetchedAt"`
	// Expires is when to fetch again: the smallest Ttl less Options.ICEMargin.
	Expires time.Time `json:"expires"`
	// FromCache reports whether the servers came from a cache.
	FromCache bool `json:"-"`
}

// Redacted returns c with every credential replaced by "****".
func (c ICEConfig) Redacted() ICEConfig {
	servers := make([]ICEServer, len(c.Servers))
	for i, s := range c.Servers {
		servers[i] = s.Redacted()
	}
	c.Servers = servers
	return c
}

// ICEServers returns the ICE servers for a channel's endpoints (as
// [Resolver.Endpoints] gives them) and clientID (optional; a viewer's
// client id), from a cache until they near their Ttl, else from
// GetIceServerConfig on the HTTPS endpoint.
func (r *Resolver) ICEServers(ctx context.Context, ep Endpoints, clientID string) (ICEConfig, error) {
	arn, err := channel.ParseARN(ep.ChannelARN)
	what := "resolve ICE servers for channel/" + arn.Name
	if err != nil {
		return ICEConfig{}, fmt.Errorf("resolve ICE servers: %w", err)
	}
	if err := r.check(arn, ep.Role); err != nil {
		return ICEConfig{}, fmt.Errorf("%s: %w", what, err)
	}
	if clientID != "" {
		if err := channel.ValidClientID(clientID); err != nil {
			return ICEConfig{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	stun, err := r.STUNURL(arn.Region)
	if err != nil {
		return ICEConfig{}, fmt.Errorf("%s: %w", what, err)
	}
	key := cacheKey(kindICE, arn, ep.Role, clientID)
	var cfg ICEConfig
	if r.load(ctx, key, &cfg) {
		cfg.FromCache = true
		// The STUN entry is ours, not the service's: list the one in use
		// now, whatever was cached with the TURN servers.
		if len(cfg.Servers) > 0 && len(cfg.Servers[0].URLs) == 1 && cfg.Servers[0].Username == "" {
			cfg.Servers[0].URLs = []string{stun}
		}
		r.log.Debug("ICE servers from cache", "channel", arn.String(), "expires", cfg.Expires)
		return cfg, nil
	}
	if err := r.checkScheme("HTTPS", ep.HTTPS); err != nil {
		return ICEConfig{}, fmt.Errorf("%s: %w", what, err)
	}
	list, fetched, err := r.getIceServerConfig(ctx, ep.HTTPS, arn, clientID)
	if err != nil {
		return ICEConfig{}, fmt.Errorf("%s: %w", what, Classify(err, "kinesisvideo:GetIceServerConfig", arn.String()))
	}
	cfg = ICEConfig{FetchedAt: fetched, Servers: []ICEServer{{URLs: []string{stun}}}}
	minTTL := time.Duration(0)
	for _, s := range list {
		if len(s.Uris) == 0 {
			continue
		}
		ttl := time.Duration(s.Ttl) * time.Second
		if ttl <= 0 {
			ttl = 300 * time.Second // the service's value (§3.1)
		}
		if minTTL == 0 || ttl < minTTL {
			minTTL = ttl
		}
		cfg.Servers = append(cfg.Servers, ICEServer{URLs: s.Uris, Username: s.Username, Credential: s.Password, Expires: fetched.Add(ttl)})
	}
	if minTTL == 0 {
		minTTL = 300 * time.Second
	}
	cfg.Expires = fetched.Add(minTTL - min(r.opts.ICEMargin, minTTL/2))
	r.save(ctx, key, cfg, cfg.Expires)
	r.log.Debug("fetched ICE servers", "channel", arn.String(), "servers", len(cfg.Servers), "expires", cfg.Expires)
	return cfg, nil
}

// Result is a channel resolved for one role.
type Result struct {
	Endpoints Endpoints
	ICE       ICEConfig
}

// Resolve returns endpoints and ICE servers. If cached endpoints fail on
// first use (GetIceServerConfig cannot reach them, or the channel behind a
// cached ARN is gone, spec §5.2), they are invalidated and fetched again once.
func (r *Resolver) Resolve(ctx context.Context, arn channel.ARN, role channel.Role, clientID string) (Result, error) {
	ep, err := r.Endpoints(ctx, arn, role)
	if err != nil {
		return Result{}, err
	}
	ice, err := r.ICEServers(ctx, ep, clientID)
	if err != nil && ep.FromCache && (errors.Is(err, ErrUnreachable) || errors.Is(err, ErrChannelNotFound)) {
		r.log.Debug("cached endpoints failed; fetching again", "channel", arn.String(), "err", err)
		if ierr := r.Invalidate(ctx, arn, role); ierr != nil {
			return Result{}, ierr
		}
		if ep, err = r.Endpoints(ctx, arn, role); err != nil {
			return Result{}, err
		}
		ice, err = r.ICEServers(ctx, ep, clientID)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Endpoints: ep, ICE: ice}, nil
}

// iceServer is one IceServerList item (spec §3.1).
type iceServer struct {
	Uris     []string `json:"Uris"`
	Username string   `json:"Username"`
	Password string   `json:"Password"`
	Ttl      int      `json:"Ttl"`
}

// maxResponse bounds a GetIceServerConfig answer (5 servers of 4 URIs of 256
// bytes is about 8 KB).
const maxResponse = 1 << 20

// Service and operation names for the operation error, as the SDK's
// kinesisvideosignaling client would give them.
const (
	signalingServiceID = "Kinesis Video Signaling"
	iceOperation       = "GetIceServerConfig"
)

// getIceServerConfig is the one REST-JSON call aws-sdk-go-v2 has no client
// for on the module proxy (service/kinesisvideosignaling is not served). It
// is built on the SDK's parts: the aws.Config credentials, its v4 signer
// (service kinesisvideo, the channel's region), its retryer (so 5xx,
// connection errors and ClientLimitExceededException back off with jitter
// as in the other calls) and its HTTP client. Errors are decoded as the SDK
// decodes them (wire.DecodeRESTError) and wrapped in a smithy.OperationError.
//
// Clock skew, hand-written because the SDK's correction lives in unexported
// state (see clock.go): requests are signed with the measured offset; a
// refused signature whose response Date shows an offset more than 4 minutes
// from the one used is retried once with it, as the SDK's Attempt middleware
// does for its own clients.
func (r *Resolver) getIceServerConfig(ctx context.Context, endpoint string, arn channel.ARN, clientID string) ([]iceServer, time.Time, error) {
	fail := func(err error) ([]iceServer, time.Time, error) {
		return nil, time.Time{}, &smithy.OperationError{ServiceID: signalingServiceID, OperationName: iceOperation, Err: err}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fail(fmt.Errorf("HTTPS endpoint: %w", err))
	}
	u = u.JoinPath("v1", "get-ice-server-config") // keeps a path prefix
	body, err := json.Marshal(struct {
		ChannelARN string `json:"ChannelARN"`
		ClientID   string `json:"ClientId,omitempty"`
		Service    string `json:"Service"`
	}{arn.String(), clientID, "TURN"})
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if r.cfg.Credentials == nil {
		return fail(fmt.Errorf("%w: no credentials configured", ErrAuth))
	}

	offset := r.clock.Offset()
	skewRetried := false
	releaseRetry := func(error) error { return nil }
	maxAttempts := r.retryer.MaxAttempts()
	for attempt := 1; ; attempt++ {
		releaseAttempt, err := r.retryer.GetAttemptToken(ctx)
		if err != nil {
			return fail(fmt.Errorf("get retry token: %w", err))
		}
		resp, _, skew, hasSkew, err := r.sendICE(ctx, u.String(), body, hash, arn.Region, offset)
		releaseRetry(err)
		releaseAttempt(err)
		if hasSkew {
			r.clock.set(skew)
		}
		if err == nil {
			var out struct {
				IceServerList []iceServer `json:"IceServerList"`
			}
			if err := json.Unmarshal(resp, &out); err != nil {
				return fail(&smithy.DeserializationError{Err: err})
			}
			return out.IceServerList, r.opts.Now(), nil
		}
		if !skewRetried && hasSkew && isSkewCode(wire.ErrorCode(err)) && absDuration(skew-offset) > skewThreshold {
			r.log.Debug("clock skew; retrying with the service's time", "offset", skew)
			skewRetried, offset = true, skew
			attempt--
			continue
		}
		if !r.retryer.IsErrorRetryable(err) {
			return fail(err)
		}
		if maxAttempts > 0 && attempt >= maxAttempts {
			return fail(&retry.MaxAttemptsError{Attempt: attempt, Err: err})
		}
		var rerr error
		if releaseRetry, rerr = r.retryer.GetRetryToken(ctx, err); rerr != nil {
			return fail(errors.Join(err, rerr))
		}
		delay, derr := r.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return fail(errors.Join(err, derr))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(&aws.RequestCanceledError{Err: ctx.Err()})
		case <-t.C:
		}
	}
}

// sendICE makes one signed attempt. It returns the body of a 200, the local
// time the response arrived, and the clock offset its Date header shows.
func (r *Resolver) sendICE(ctx context.Context, u string, body []byte, hash, region string, offset time.Duration) (out []byte, received time.Time, skew time.Duration, hasSkew bool, err error) {
	creds, err := r.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, received, 0, false, fmt.Errorf("get credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, received, 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := r.signer.SignHTTP(ctx, creds, req, hash, "kinesisvideo", region, time.Now().Add(offset)); err != nil {
		return nil, received, 0, false, fmt.Errorf("sign request: %w", err)
	}
	sent := time.Now()
	resp, err := r.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, received, 0, false, &aws.RequestCanceledError{Err: ctx.Err()}
		}
		// RequestSendError marks it a connection error for the retryer, as
		// the SDK's own HTTP handler does.
		return nil, received, 0, false, &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	received = time.Now()
	skew, hasSkew = measure(resp.Header, sent, received)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, received, skew, hasSkew, &smithyhttp.RequestSendError{Err: fmt.Errorf("read response: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, received, skew, hasSkew, wire.DecodeRESTError(resp.StatusCode, resp.Header, data)
	}
	return data, received, skew, hasSkew, nil
}

// isSkewCode reports the codes the SDK treats as possible clock skew.
func isSkewCode(code string) bool {
	switch code {
	case "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "RequestTimeTooSkewed":
		return true
	}
	return false
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
