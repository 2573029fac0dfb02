package signaling

import (
	"golang.org/x/time/rate"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/wire"
)

// readLimit bounds one received frame: a 10 000-byte payload plus the
// envelope fits many times over (§4.5).
const readLimit = 64 << 10

// Client is a signaling WebSocket connection that reopens itself. It is safe
// for concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger

	ctx       context.Context // ends on Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	stopping  atomic.Bool // set by Shutdown: do not reconnect

	messages chan Message
	writeMu  chan struct{} // context-aware lock held by one sender at a time
	sdpRate  *rate.Limiter // nil: no pacing
	iceRate  *rate.Limiter

	mu    sync.Mutex
	conn  *websocket.Conn // nil while disconnected
	up    chan struct{}   // closed while conn != nil
	state State

	skew  atomic.Int64 // signing-time correction learnt from a 403's Date header
	stats counters
}

// Dial opens a signaling connection as opts.Role and returns a Client that
// keeps it open until Close: after a server close, a network error, GO_AWAY
// or RECONNECT_ICE_SERVER it presigns a new URL (fresh X-Amz-Date, freshly
// retrieved credentials and endpoint) and reconnects with backoff, forever.
//
// ctx bounds the first connection only. Dial makes one attempt: when the
// service refuses it (see HandshakeError and StatusCode) or cannot be
// reached, Dial returns the error and the caller decides what to do.
//
// optFns change the copy of opts Dial works on.
func Dial(ctx context.Context, opts Options, optFns ...func(*Options)) (*Client, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:     o,
		log:      o.Logger,
		messages: make(chan Message, o.MessageBuffer),
		writeMu:  make(chan struct{}, 1),
		up:       make(chan struct{}),
		sdpRate:  limiter(o.SendRates.SDPPerSecond),
		iceRate:  limiter(o.SendRates.ICEPerSecond),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.setState(StateConnecting, nil)
	conn, _, err := c.connect(ctx)
	if err != nil {
		c.cancel()
		close(c.messages)
		c.setState(StateClosed, err)
		return nil, &DialError{ChannelARN: o.ChannelARN, Role: o.Role, ClientID: o.ClientID, Hint: dialHint(err, o.Role), Err: err}
	}
	c.attach(conn)
	c.setState(StateConnected, nil)
	c.wg.Add(1)
	go c.run(conn)
	return c, nil
}

// Messages returns the frames received from the service, in order. It is
// closed after the Client closes. Read it continuously: while it is full
// the Client stops reading the socket (and so stops answering pings).
func (c *Client) Messages() <-chan Message { return c.messages }

// State returns the current connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Close stops the Client at once: it drops the connection without a close
// handshake, stops reconnecting, waits for every goroutine it started and
// closes Messages. It is idempotent and always returns nil. Sends waiting
// for a connection return ErrClosed.
func (c *Client) Close() error {
	c.closeOnce.Do(c.cancel)
	c.wg.Wait()
	return nil
}

// Shutdown closes the connection with a close handshake (status 1000) and
// then closes the Client. If ctx ends first it closes at once, as Close.
func (c *Client) Shutdown(ctx context.Context) error {
	c.stopping.Store(true)
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			conn.Close(websocket.StatusNormalClosure, "") // an error means the peer went first
		}()
		select {
		case <-done:
		case <-ctx.Done():
			c.Close() // drops the connection, so the handshake above gives up
			<-done
			return fmt.Errorf("shutdown signaling: %w", ctx.Err())
		}
	}
	return c.Close()
}

func (c *Client) setState(s State, err error) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
	if err != nil {
		c.log.Info("signaling state", "state", s.String(), "err", err)
	} else {
		c.log.Info("signaling state", "state", s.String())
	}
	if c.opts.OnStateChange != nil {
		c.opts.OnStateChange(StateChange{State: s, Err: err, At: c.opts.Clock()})
	}
}

func (c *Client) attach(conn *websocket.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = conn
	close(c.up)
}

func (c *Client) detach() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn = nil
		c.up = make(chan struct{})
	}
}

// run owns the connection: it serves it, and reconnects when it ends.
func (c *Client) run(conn *websocket.Conn) {
	defer c.wg.Done()
	defer func() {
		c.detach()
		close(c.messages)
		c.setState(StateClosed, nil)
	}()
	attempt := 0
	for {
		start := time.Now()
		reason, err := c.serve(conn)
		c.detach()
		if c.done() {
			return
		}
		if time.Since(start) >= c.opts.Backoff.Max {
			attempt = 0
		}
		c.setState(StateReconnecting, err)
		for {
			if reason != RefreshUnknown {
				c.refresh(reason)
			}
			bound := c.opts.Backoff.delay(attempt)
			wait := time.Duration(rand.Int64N(int64(bound) + 1))
			c.log.Debug("signaling backoff", "attempt", attempt, "bound", bound, "wait", wait, "reason", reason.String())
			attempt++
			if !c.sleep(wait) {
				return
			}
			conn, reason, err = c.connect(c.ctx)
			if err == nil {
				break
			}
			if c.done() {
				return
			}
			c.stats.errors.Add(1)
			c.log.Warn("signaling reconnect failed", "attempt", attempt, "reason", reason.String(), "err", err)
			if c.opts.OnReconnectError != nil {
				c.opts.OnReconnectError(attempt, err)
			}
		}
		c.stats.reconnects.Add(1)
		c.attach(conn)
		c.setState(StateConnected, nil)
	}
}

func (c *Client) done() bool { return c.ctx.Err() != nil || c.stopping.Load() }

// sleep waits d or until Close; it reports whether the Client is still open.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !c.done()
	case <-c.ctx.Done():
		return false
	}
}

func (c *Client) refresh(reason RefreshReason) {
	if reason == RefreshAuth {
		if inv, ok := c.opts.Credentials.(interface{ Invalidate() }); ok {
			inv.Invalidate()
		}
	}
	if c.opts.Refresh == nil {
		return
	}
	c.log.Debug("signaling refresh", "reason", reason.String())
	if err := c.opts.Refresh(c.ctx, reason); err != nil && c.ctx.Err() == nil {
		c.stats.errors.Add(1)
		c.log.Warn("signaling refresh failed", "reason", reason.String(), "err", err)
	}
}

// Errors serve returns for a connection the service asked to leave.
var (
	errGoAway          = errors.New("service sent GO_AWAY")
	errReconnectICE    = errors.New("service sent RECONNECT_ICE_SERVER")
	errPingUnanswered  = errors.New("ping unanswered")
	errConnectionEnded = errors.New("connection ended")
)

// serve reads conn until it ends, delivering frames, and pings it. It returns
// what the reconnection should refresh and why the connection ended.
func (c *Client) serve(conn *websocket.Conn) (RefreshReason, error) {
	ctx, cancel := context.WithCancel(c.ctx)
	var pingErr atomic.Pointer[error]
	var pinger sync.WaitGroup
	defer func() {
		cancel()
		conn.CloseNow()
		pinger.Wait()
	}()
	if c.opts.PingInterval > 0 {
		pinger.Add(1)
		go func() {
			defer pinger.Done()
			if err := c.keepalive(ctx, conn); err != nil {
				pingErr.Store(&err)
				conn.CloseNow()
			}
		}()
	}
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			if p := pingErr.Load(); p != nil {
				return RefreshUnknown, *p
			}
			if code := websocket.CloseStatus(err); code != -1 {
				return RefreshUnknown, fmt.Errorf("%w: service closed it with %d %s", errConnectionEnded, int(code), closeReason(err))
			}
			return RefreshUnknown, fmt.Errorf("%w: %w", errConnectionEnded, scrubDialError(err))
		}
		c.stats.received.Add(1)
		if typ != websocket.MessageText {
			c.stats.errors.Add(1)
			c.log.Warn("signaling frame skipped", "err", "binary frame", "bytes", len(data))
			continue
		}
		sm, err := wire.DecodeServerMessage(data)
		if err != nil {
			c.stats.errors.Add(1)
			c.log.Warn("signaling frame skipped", "err", err, "bytes", len(data))
			continue
		}
		c.log.Debug("signaling frame received", "type", sm.MessageType.String(), "sender", sm.SenderClientID, "bytes", len(data))
		select {
		case c.messages <- Message{ServerMessage: sm, ReceivedAt: c.opts.Clock()}:
		case <-ctx.Done():
			return RefreshUnknown, nil
		}
		switch sm.MessageType {
		case wire.MessageTypeGoAway:
			return RefreshGoAway, errGoAway
		case wire.MessageTypeReconnectICEServer:
			c.stats.iceRefreshes.Add(1)
			return RefreshReconnectICEServer, errReconnectICE
		}
	}
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Reason != "" {
		return fmt.Sprintf("%q", ce.Reason)
	}
	return ""
}

// keepalive pings conn every PingInterval; it returns an error when a pong
// does not come back within the interval.
func (c *Client) keepalive(ctx context.Context, conn *websocket.Conn) error {
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.opts.PingInterval)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.stats.errors.Add(1)
			return fmt.Errorf("%w: %w", errPingUnanswered, err)
		}
	}
}
