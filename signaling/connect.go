package signaling

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/wire"
)

// connect presigns a fresh URL and opens one WebSocket. On failure it also
// says what a Refresh should renew.
func (c *Client) connect(ctx context.Context) (*websocket.Conn, RefreshReason, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	endpoint, err := c.opts.Endpoint(ctx)
	if err != nil {
		return nil, RefreshEndpoint, fmt.Errorf("get signaling endpoint: %w", err)
	}
	creds, err := c.opts.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, RefreshAuth, fmt.Errorf("%w: %w", ErrRetrieveCredentials, err)
	}
	u, err := Presign(ctx, creds, PresignInput{
		Endpoint:   endpoint,
		Region:     c.opts.Region,
		ChannelARN: c.opts.ChannelARN,
		ClientID:   c.opts.ClientID,
		Time:       c.opts.Clock().Add(time.Duration(c.skew.Load())),
		Expires:    c.opts.Expires,
	})
	if err != nil {
		return nil, RefreshEndpoint, err
	}
	c.log.Debug("signaling dial", "url", wire.RedactURL(u))
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.opts.HTTPClient})
	if err != nil {
		if resp != nil && resp.StatusCode >= 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			he := &HandshakeError{StatusCode: resp.StatusCode, ErrorType: errorType(resp.Header)}
			reason := RefreshEndpoint
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				reason = RefreshAuth
				c.correctSkew(resp.Header)
			case http.StatusNotFound:
				reason = RefreshNotFound
			}
			return nil, reason, he
		}
		return nil, RefreshEndpoint, scrubDialError(err)
	}
	conn.SetReadLimit(readLimit)
	c.stats.connectTime.Store(int64(time.Since(start)))
	return conn, RefreshUnknown, nil
}

// errorType reads X-Amzn-ErrorType up to its first colon (§1.4).
func errorType(h http.Header) string {
	t, _, _ := strings.Cut(h.Get("X-Amzn-ErrorType"), ":")
	return t
}

// maxSkew is how far the service's clock may be from the signing clock
// before a 403 makes the Client sign with the service's time instead. SigV4
// allows 5 minutes; a minute leaves room for the Date header's 1 s steps.
const maxSkew = time.Minute

// correctSkew learns the offset between the service's Date header and the
// signing clock after a 403, as the C SDK does for "Signature expired" (§5.1).
func (c *Client) correctSkew(h http.Header) {
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return
	}
	offset := date.Sub(c.opts.Clock())
	if offset > -maxSkew && offset < maxSkew {
		return
	}
	c.skew.Store(int64(offset.Round(time.Second)))
	c.log.Warn("signaling clock skew corrected", "offset", offset.Round(time.Second))
}
