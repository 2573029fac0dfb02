package signaling

import (
	"golang.org/x/time/rate"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kvsrtc/kvsrtc/channel"
)

// Defaults of Options.
const (
	DefaultPingInterval  = 30 * time.Second
	DefaultBackoffMin    = 100 * time.Millisecond
	DefaultBackoffMax    = 10 * time.Second
	DefaultDialTimeout   = 15 * time.Second // the C SDK's connect-state timeout
	DefaultWriteTimeout  = 5 * time.Second  // the C SDK's SIGNALING_SEND_TIMEOUT
	DefaultMessageBuffer = 64
)

// Options configure a Client. Dial copies them; the caller's struct is never
// changed.
type Options struct {
	// Role is channel.RoleMaster or channel.RoleViewer. Required.
	Role channel.Role
	// ChannelARN is the signaling channel's ARN. Required.
	ChannelARN string
	// ClientID identifies a viewer (required for viewers, §4.1); the master
	// must leave it empty.
	ClientID string
	// Region is the channel's region. Empty: the ARN's region.
	Region string
	// Credentials sign the URL. Retrieve is called before every connection,
	// so wrap a provider in aws.NewCredentialsCache to avoid fetching each
	// time; a provider with an Invalidate method (aws.CredentialsCache) is
	// invalidated when the service refuses the handshake with 401/403.
	// Required.
	Credentials aws.CredentialsProvider
	// Endpoint returns the WSS resource endpoint for the role (from
	// GetSignalingChannelEndpoint). It is called before every connection, so
	// the endpoint can change between reconnects. Required.
	Endpoint func(ctx context.Context) (string, error)
	// Refresh, if set, is called before reconnecting when the service asked
	// for it (GO_AWAY, RECONNECT_ICE_SERVER) or a connection attempt failed in
	// a way fresh credentials or endpoints may fix (403, 404, unreachable). It
	// runs on the Client's goroutine; an error is logged and counted, and the
	// Client carries on with backoff.
	Refresh func(ctx context.Context, reason RefreshReason) error
	// HTTPClient opens the WebSocket; set its TLS trust for a private CA such
	// as an emulator's. Nil: http.DefaultClient.
	HTTPClient *http.Client
	// Clock gives the signing time. Nil: time.Now. Pass a clock corrected for
	// skew against the service when one is known; the Client also corrects
	// its own signing time from the Date header of a 403 refusal that is more
	// than a minute off.
	Clock func() time.Time
	// Logger receives the Client's logs, scoped with component=signaling.
	// Nil discards them. Presigned URLs are logged only redacted.
	Logger *slog.Logger
	// PingInterval is the WebSocket keepalive period. Zero: 30 s. Negative:
	// no pings.
	PingInterval time.Duration
	// Expires is X-Amz-Expires of each presigned URL. Zero: 299 s.
	Expires time.Duration
	// Backoff spaces reconnection attempts.
	Backoff Backoff
	// DialTimeout bounds one connection attempt. Zero: 15 s.
	DialTimeout time.Duration
	// WriteTimeout bounds the write of one frame once it has the socket; a
	// write that takes longer breaks the connection, which is then reopened.
	// Zero: 5 s.
	WriteTimeout time.Duration
	// SendRates pace outgoing messages to the service's per-connection
	// quotas, which drop what exceeds them (§7: 5 SDP offers or answers and
	// 20 ICE candidates per second). Zero fields take those values; a
	// negative rate turns pacing off (e.g. against an emulator with the
	// quotas lifted).
	SendRates SendRates
	// MessageBuffer is the capacity of the Messages channel. Zero: 64. When it
	// is full the Client stops reading the socket until there is room.
	MessageBuffer int
	// OnStateChange, if set, is called on every state change, in order, on
	// the Client's goroutine. It must return quickly and must not call Close.
	OnStateChange func(StateChange)
	// OnReconnectError, if set, is called after each failed reconnection
	// attempt (the state stays StateReconnecting) with its number, from 1,
	// and its error, on the Client's goroutine. It must return quickly and
	// must not call Close.
	OnReconnectError func(attempt int, err error)
}

// Backoff is exponential backoff with full jitter: before reconnection
// attempt n (from 0) the Client waits a uniformly random time in
// [0, min(Max, Min·2ⁿ)], as the KVS SDKs do (§5.2). The count starts again
// after a connection stayed up for Max.
type Backoff struct {
	// Min is the base delay. Zero: 100 ms.
	Min time.Duration
	// Max caps the delay. Zero: 10 s.
	Max time.Duration
}

// delay returns the upper bound of the wait before attempt n.
func (b Backoff) delay(n int) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

func (o Options) withDefaults() (Options, error) {
	switch o.Role {
	case channel.RoleMaster:
		if o.ClientID != "" {
			return o, errors.New("signaling options: the master connects without a client id")
		}
	case channel.RoleViewer:
		if err := channel.ValidClientID(o.ClientID); err != nil {
			return o, fmt.Errorf("signaling options: %w", err)
		}
	default:
		return o, fmt.Errorf("signaling options: role %s: want master or viewer", o.Role)
	}
	arn, err := channel.ParseARN(o.ChannelARN)
	if err != nil {
		return o, fmt.Errorf("signaling options: %w", err)
	}
	if o.Region == "" {
		o.Region = arn.Region
	}
	if o.Credentials == nil {
		return o, errors.New("signaling options: missing credentials")
	}
	if o.Endpoint == nil {
		return o, errors.New("signaling options: missing endpoint func")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.Logger = o.Logger.With("component", "signaling", "role", o.Role.String())
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.Expires == 0 {
		o.Expires = DefaultExpires
	}
	if o.Expires < time.Second || o.Expires > MaxExpires {
		return o, fmt.Errorf("signaling options: expires %v outside 1s..%v", o.Expires, MaxExpires)
	}
	if o.Backoff.Min <= 0 {
		o.Backoff.Min = DefaultBackoffMin
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = DefaultBackoffMax
	}
	o.Backoff.Max = max(o.Backoff.Max, o.Backoff.Min)
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.SendRates.SDPPerSecond == 0 {
		o.SendRates.SDPPerSecond = 5
	}
	if o.SendRates.ICEPerSecond == 0 {
		o.SendRates.ICEPerSecond = 20
	}
	if o.MessageBuffer <= 0 {
		o.MessageBuffer = DefaultMessageBuffer
	}
	return o, nil
}

// SendRates are outgoing messages per second per connection.
type SendRates struct {
	SDPPerSecond float64
	ICEPerSecond float64
}

// limiter returns a token bucket a little inside perSecond, or nil for no
// pacing. The service counts arrivals, not sends: network jitter can
// bunch two paced messages, so the client keeps a 10% margin on the rate
// and one message on the burst.
func limiter(perSecond float64) *rate.Limiter {
	if perSecond < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond*0.9), max(1, int(perSecond)-1))
}
