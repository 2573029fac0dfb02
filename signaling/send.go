package signaling

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/wire"
)

// SendOption changes one send.
type SendOption func(*sendOptions)

type sendOptions struct {
	correlationID string
	generate      bool
}

// WithCorrelationID sends the frame with correlation id id
// ([a-zA-Z0-9_.-]{1,256}). If the service fails to deliver it, a
// STATUS_RESPONSE carrying id arrives on Messages.
func WithCorrelationID(id string) SendOption {
	return func(o *sendOptions) { o.correlationID, o.generate = id, false }
}

// WithNewCorrelationID sends the frame with a fresh random correlation id,
// which the send returns.
func WithNewCorrelationID() SendOption {
	return func(o *sendOptions) { o.correlationID, o.generate = "", true }
}

// SendOffer sends an SDP offer. A viewer leaves recipient empty (it always
// talks to the master); the master names the viewer's client id. It returns
// the correlation id the frame carried, if any.
func (c *Client) SendOffer(ctx context.Context, recipient string, sd wire.SessionDescription, opts ...SendOption) (string, error) {
	return c.sendPayload(ctx, wire.ActionSDPOffer, recipient, sd, opts)
}

// SendAnswer sends an SDP answer; recipient as for SendOffer, except that
// the master may leave it empty to answer a storage session's offer (§6).
func (c *Client) SendAnswer(ctx context.Context, recipient string, sd wire.SessionDescription, opts ...SendOption) (string, error) {
	return c.sendPayload(ctx, wire.ActionSDPAnswer, recipient, sd, opts)
}

// SendICECandidate sends one trickled ICE candidate; recipient as for
// SendAnswer.
func (c *Client) SendICECandidate(ctx context.Context, recipient string, cand wire.ICECandidateInit, opts ...SendOption) (string, error) {
	return c.sendPayload(ctx, wire.ActionICECandidate, recipient, cand, opts)
}

func (c *Client) sendPayload(ctx context.Context, action wire.Action, recipient string, v any, opts []SendOption) (string, error) {
	var o sendOptions
	for _, fn := range opts {
		fn(&o)
	}
	switch {
	case c.opts.Role == channel.RoleViewer && recipient != "":
		return "", fmt.Errorf("send %s: %w: a viewer sends only to the master, leave the recipient empty", action, ErrInvalidRecipient)
	case c.opts.Role == channel.RoleMaster && recipient == "" && action == wire.ActionSDPOffer:
		return "", fmt.Errorf("send %s: %w: the master must name the viewer", action, ErrInvalidRecipient)
	}
	if o.generate {
		o.correlationID = rand.Text()
	}
	payload, err := wire.EncodePayload(v)
	if err != nil {
		return "", fmt.Errorf("send %s: %w", action, err)
	}
	m := wire.ClientMessage{Action: action, MessagePayload: payload, RecipientClientID: recipient, CorrelationID: o.correlationID}
	if err := c.Send(ctx, m); err != nil {
		return "", err
	}
	return o.correlationID, nil
}

// Send sends one frame as is.
//
// While the Client is reconnecting, Send waits for the connection, as long
// as ctx allows: a send never fails just because a GO_AWAY or a server close
// happened a moment earlier. Frames are written one at a time in the order
// their senders got the write lock. ctx bounds the wait for the lock and the
// connection; once the write has begun it is bounded by Options.WriteTimeout
// instead, so that a caller's deadline cannot break the connection mid-frame.
// A write that fails returns an error wrapping ErrNotConnected (the frame may
// or may not have been delivered) and the Client reconnects. After Close,
// Send returns ErrClosed.
func (c *Client) Send(ctx context.Context, m wire.ClientMessage) error {
	b, err := wire.EncodeClientMessage(m)
	if err != nil {
		return fmt.Errorf("send %s: %w", m.Action, err)
	}
	// Stay within the service's quotas rather than have it drop the
	// message (§7); the wait is bounded by ctx.
	// Close is checked first, and ends the wait: a closed Client does not
	// hold its callers for the quota.
	if c.ctx.Err() != nil {
		return fmt.Errorf("send %s: %w", m.Action, ErrClosed)
	}
	lim := c.sdpRate
	if m.Action == wire.ActionICECandidate {
		lim = c.iceRate
	}
	if lim != nil {
		lctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(c.ctx, cancel)
		err := lim.Wait(lctx)
		stop()
		cancel()
		if err != nil {
			if c.ctx.Err() != nil {
				return fmt.Errorf("send %s: %w", m.Action, ErrClosed)
			}
			return fmt.Errorf("send %s: wait for the service's rate quota: %w", m.Action, err)
		}
	}
	select {
	case c.writeMu <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("send %s: wait for the write lock: %w", m.Action, ctx.Err())
	case <-c.ctx.Done():
		return fmt.Errorf("send %s: %w", m.Action, ErrClosed)
	}
	defer func() { <-c.writeMu }()
	conn, err := c.connected(ctx)
	if err != nil {
		return fmt.Errorf("send %s: %w", m.Action, err)
	}
	wctx, cancel := context.WithTimeout(c.ctx, c.opts.WriteTimeout)
	defer cancel()
	if err := conn.Write(wctx, websocket.MessageText, b); err != nil {
		if c.ctx.Err() != nil {
			return fmt.Errorf("send %s: %w", m.Action, ErrClosed)
		}
		c.stats.errors.Add(1)
		conn.CloseNow() // the reader notices and reconnects
		return fmt.Errorf("send %s: %w: %w", m.Action, ErrNotConnected, err)
	}
	c.stats.sent.Add(1)
	c.log.Debug("signaling frame sent", "action", m.Action.String(), "recipient", m.RecipientClientID, "correlation_id", m.CorrelationID, "bytes", len(b))
	return nil
}

// connected returns the open connection, waiting for one while ctx allows.
func (c *Client) connected(ctx context.Context) (*websocket.Conn, error) {
	for {
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		c.mu.Lock()
		conn, up := c.conn, c.up
		c.mu.Unlock()
		if conn != nil {
			return conn, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the connection: %w", ctx.Err())
		case <-c.ctx.Done():
			return nil, ErrClosed
		}
	}
}
