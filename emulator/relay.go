package emulator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/kvsrtc/kvsrtc/emulator/internal/sigv4"
	"github.com/kvsrtc/kvsrtc/wire"
)

// relay is the WSS signaling service: ConnectAsMaster / ConnectAsViewer,
// message routing, queueing for absent clients, quotas and timers (§4).
type relay struct {
	e        *Emulator
	mu       sync.Mutex
	channels map[string]*channelState // by ARN
	peers    map[*peer]struct{}
	closed   bool
	wg       sync.WaitGroup // peers' goroutines
	// upgrading counts upgrades between the quota checks and registration:
	// the 101 is on the wire before the connection is hijacked, so shutdown
	// must let them finish rather than have http.Server.Close cut them.
	upgrading sync.WaitGroup
	// seq numbers upgrades in the order they passed the quota checks, which
	// is before their 101: registration can lag behind (the goroutine that
	// answered is descheduled), so "newest wins" compares seq, not the order
	// of registration.
	seq uint64
	// beforeRegister, when set (tests), runs between the 101 and the
	// registration of a connection.
	beforeRegister func(role, clientID string)
	// throttledReads counts the times a connection waited for its frame
	// budget (peer.budget).
	throttledReads atomic.Int64
	framesRead     atomic.Int64 // WSS frames read, every connection
}

// channelState is the live signaling state of one channel.
type channelState struct {
	master   *peer
	viewers  map[string]*peer
	seen     map[string]bool        // viewer client ids that ever connected
	queue    map[string][]queued    // by recipient: "" is the master
	alexa    map[string]chan string // SendAlexaOfferToMaster waiters by sender
	connects *rate.Limiter
	inbound  *rate.Limiter // the channel's frame-read budget (peer.budget)
	// upgrading counts viewer upgrades accepted but not yet registered:
	// they hold a slot, so the limit holds under concurrent connects.
	upgrading int
}

// queued is a message held for a client that is not connected (§13:
// held for MessageTtlSeconds, delivered once on connect).
type queued struct {
	frame   []byte
	expires time.Time
	offerBy string // sender of an SDP_OFFER, for the overwrite rule (§4.4)
}

// maxQueued bounds the messages held per recipient.
const maxQueued = 256

// peerQueue is how many frames may wait for a slow connection before it
// is closed (§4.7: never block a sender on a slow recipient).
const peerQueue = 64

func newRelay(e *Emulator) *relay {
	r := &relay{e: e, channels: map[string]*channelState{}, peers: map[*peer]struct{}{}}
	return r
}

// state returns the channel's state; r.mu must be held.
func (r *relay) state(arn string) *channelState {
	cs, ok := r.channels[arn]
	if !ok {
		lim := rate.Inf
		if l := r.e.opts.Limits.ConnectsPerSecond; l > 0 {
			lim = rate.Limit(l)
		}
		burst := max(1, int(r.e.opts.Limits.ConnectsPerSecond))
		cs = &channelState{viewers: map[string]*peer{}, seen: map[string]bool{}, queue: map[string][]queued{},
			alexa: map[string]chan string{}, connects: rate.NewLimiter(lim, burst),
			inbound: newLimiter(r.e.opts.Limits.ChannelFramesPerSecond)}
		r.channels[arn] = cs
	}
	return cs
}

// wssRefusal answers a refused upgrade before switching protocols (§4.3).
func wssRefusal(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Lower: true}
}

// serveWSS verifies a presigned connect and upgrades it (§4.1–§4.3).
func (r *relay) serveWSS(w http.ResponseWriter, req *http.Request, kind byte) *apiError {
	e := r.e
	role, action := "MASTER", "kinesisvideo:ConnectAsMaster"
	if kind == 'v' {
		role, action = "VIEWER", "kinesisvideo:ConnectAsViewer"
	}
	e.count(strings.TrimPrefix(action, "kinesisvideo:"))
	sig, err := e.verifier.VerifyQuery(req)
	if err != nil {
		// §4.3: bad signature, expired presign and missing permission are
		// all 403 AccessDeniedException at the upgrade.
		msg := "not authorized"
		var se *sigv4.Error
		if errors.As(err, &se) {
			msg = se.Message
		}
		return wssRefusal(403, "AccessDeniedException", "%s", msg)
	}
	q, _ := sigv4.ParseQuery(req.URL.RawQuery)
	// Copies: an unescaped value can be a piece of the request line, which
	// the peer would otherwise keep alive (≈ 0.5 KB) for the connection's life.
	arn, clientID := strings.Clone(q.Get("X-Amz-ChannelARN")), strings.Clone(q.Get("X-Amz-ClientId"))
	switch {
	case arn == "":
		return wssRefusal(400, "InvalidArgumentException", "X-Amz-ChannelARN is required")
	case !reARN.MatchString(arn) || len(arn) > 1024:
		return wssRefusal(400, "InvalidArgumentException", "X-Amz-ChannelARN is not a channel ARN")
	case role == "MASTER" && clientID != "":
		return wssRefusal(400, "InvalidArgumentException", "X-Amz-ClientId is not accepted on the master endpoint; viewers connect to the VIEWER endpoint")
	case role == "VIEWER" && clientID == "":
		return wssRefusal(400, "InvalidArgumentException", "X-Amz-ClientId is required on the viewer endpoint")
	case role == "VIEWER" && (len(clientID) > 256 || !reClientID.MatchString(clientID)):
		return wssRefusal(400, "InvalidArgumentException", "X-Amz-ClientId must match [a-zA-Z0-9_.-]{1,256}")
	case role == "VIEWER" && strings.HasPrefix(strings.ToUpper(clientID), "AWS_"):
		// §4.1: client ids must not start with AWS_.
		return wssRefusal(400, "InvalidArgumentException", "X-Amz-ClientId must not start with AWS_")
	}
	c := &call{e: e, r: req, cred: e.mustCredential(sig.AccessKeyID), now: e.now()}
	if aerr := c.authorize(action, arn, false); aerr != nil {
		return wssRefusal(403, "AccessDeniedException", "%s", aerr.Message)
	}
	ch, aerr := c.lookup(arn)
	if aerr != nil {
		return wssRefusal(404, "ResourceNotFoundException", "%s", aerr.Message)
	}
	if id := strings.TrimPrefix(req.URL.Path, "/"+string(kind)+"-"); id != e.endpointID(ch, string(kind)) {
		return wssRefusal(404, "ResourceNotFoundException", "this %s endpoint does not serve channel %s", strings.ToLower(role), ch.Name)
	}
	lim := e.opts.Limits
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return wssRefusal(503, "ServiceUnavailableException", "the emulator is shutting down")
	}
	cs := r.state(arn)
	if !cs.connects.Allow() {
		r.mu.Unlock()
		return wssRefusal(400, "ClientLimitExceededException", "connections to this channel are limited to %g per second", lim.ConnectsPerSecond)
	}
	reserved := role == "VIEWER" && cs.viewers[clientID] == nil
	if reserved && len(cs.viewers)+cs.upgrading >= lim.MaxViewers {
		r.mu.Unlock()
		return wssRefusal(400, "ClientLimitExceededException", "the channel already has %d viewers connected", lim.MaxViewers)
	}
	if reserved {
		cs.upgrading++
	}
	r.seq++
	seq := r.seq
	r.upgrading.Add(1)
	r.mu.Unlock()
	// release gives back the reservation; r.mu must be held.
	held := cs
	release := sync.OnceFunc(func() {
		if reserved {
			held.upgrading--
		}
		r.upgrading.Done()
	})
	defer func() {
		r.mu.Lock()
		release()
		r.mu.Unlock()
	}()

	p := &peer{r: r, arn: arn, role: role, clientID: clientID, seq: seq}
	hw := &hijackRecorder{ResponseWriter: w}
	conn, err := websocket.Accept(hw, req, &websocket.AcceptOptions{
		Subprotocols:       []string{"wss"}, // §4.3: echo "wss" when the C SDK offers it
		InsecureSkipVerify: true,            // §8 item 4: no Origin check on upgrades
		OnPingReceived:     func(context.Context, []byte) bool { p.touch(); return true },
	})
	if err != nil {
		return nil // Accept has answered
	}
	conn.SetReadLimit(64 << 10)
	p.conn, p.raw = conn, hw.conn
	p.sdp = newLimiter(lim.SDPPerSecond)
	p.ice = newLimiter(lim.ICEPerSecond)
	p.inbound = newLimiter(lim.FramesPerSecond)
	if r.beforeRegister != nil {
		r.beforeRegister(role, clientID)
	}

	r.mu.Lock()
	if r.closed {
		// Shutdown began while this upgrade was answered: tell the
		// client as the others were told.
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Write(ctx, websocket.MessageText, goAwayFrame)
		conn.Close(websocket.StatusGoingAway, "Going away")
		return nil
	}
	cs = r.state(arn)
	p.channelIn = cs.inbound
	// §4.7: the newest master takes over and the old socket is closed; a
	// viewer reconnecting with its client id takes over likewise (DOC-CAV).
	// Newest is by seq: a connection whose registration was overtaken by
	// a later upgrade is the old one, closed as soon as it starts.
	old := cs.master
	if role == "VIEWER" {
		old = cs.viewers[clientID]
		cs.seen[clientID] = true
	}
	superseded := old != nil && old.seq > p.seq
	// Held messages go first, in order, before the peer is published, so
	// no live frame overtakes them; its queue has room for all of them.
	var backlog [][]byte
	if !superseded {
		now := e.now()
		for _, m := range cs.queue[clientID] {
			if now.Before(m.expires) {
				backlog = append(backlog, m.frame)
			}
		}
		delete(cs.queue, clientID)
		if role == "MASTER" {
			cs.master = p
		} else {
			cs.viewers[clientID] = p
		}
	}
	p.queue, p.room = backlog, len(backlog)+peerQueue
	r.peers[p] = struct{}{}
	r.wg.Add(1) // readLoop; flush counts itself
	release()
	r.mu.Unlock()
	e.events.opened(p, e.now())
	if superseded {
		old = p
	}
	if old != nil {
		old.close(websocket.StatusGoingAway, "Going away")
	}
	e.log.Debug("connected", "role", role, "client", clientID, "channel", ch.Name, "queued", len(backlog))
	p.start(lim)
	// The reading goroutine is a new one, and this handler returns: the
	// one net/http served the request on has a stack grown by the TLS
	// handshake and the request (16 KB), and it kept the request, the
	// response and net/http's connection state alive for as long as the
	// socket was open.
	go p.readLoop()
	return nil
}

// detach removes p from its channel if it is still registered there.
func (r *relay) detach(p *peer) {
	defer r.e.events.closed(p, r.e.now()) // after r.mu is released
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.channels[p.arn]
	if cs == nil {
		return
	}
	if cs.master == p {
		cs.master = nil
	}
	if cs.viewers[p.clientID] == p {
		delete(cs.viewers, p.clientID)
	}
}

// deliver routes frame to recipient ("" is the master): at once when it is
// connected, else held for the channel's MessageTtlSeconds.
func (r *relay) deliver(from *peer, recipient string, frame []byte, m wire.ClientMessage) {
	viewer := recipient
	if viewer == "" {
		viewer = from.clientID
	}
	if !r.e.faults.frame(from.arn, recipient, viewer, m.Action, func() { r.deliverNow(from, recipient, frame, m) }) {
		r.deliverNow(from, recipient, frame, m)
	}
}

// deliverNow is deliver after the fault rules (faultrules.go).
func (r *relay) deliverNow(from *peer, recipient string, frame []byte, m wire.ClientMessage) {
	r.mu.Lock()
	cs := r.state(from.arn)
	if recipient != "" {
		if w, ok := cs.alexa[recipient]; ok {
			if m.Action == wire.ActionSDPAnswer {
				delete(cs.alexa, recipient)
				w <- m.MessagePayload
			}
			r.mu.Unlock()
			return
		}
	}
	var target *peer
	if recipient == "" {
		target = cs.master
	} else {
		target = cs.viewers[recipient]
		if target == nil && !cs.seen[recipient] {
			r.mu.Unlock()
			// UNCONFIRMED (§4.4): a recipient never seen on the channel.
			from.status(m.CorrelationID, "InvalidArgumentException", "400", "recipient "+recipient+" is not connected to the channel")
			return
		}
	}
	if target != nil {
		r.mu.Unlock()
		target.send(frame)
		return
	}
	ttl := time.Duration(defaultTTL) * time.Second
	if ch, ok := r.e.store.get(from.arn); ok {
		ttl = time.Duration(ch.TTLSeconds) * time.Second
	}
	q := queued{frame: frame, expires: r.e.now().Add(ttl)}
	list := cs.queue[recipient]
	if m.Action == wire.ActionSDPOffer {
		// §4.4: a newer offer from the same sender overwrites an
		// undelivered one.
		q.offerBy = from.clientID
		kept := list[:0]
		for _, x := range list {
			if x.offerBy != q.offerBy {
				kept = append(kept, x)
			}
		}
		list = kept
	}
	if len(list) >= maxQueued {
		list = list[1:]
	}
	cs.queue[recipient] = append(list, q)
	r.mu.Unlock()
}

// sendToChannel sends frame to every connection of a channel and, with
// closeAfter, closes them.
func (r *relay) sendToChannel(arn string, frame []byte, closeAfter bool) int {
	r.mu.Lock()
	var ps []*peer
	for p := range r.peers {
		if p.arn == arn || arn == "" {
			ps = append(ps, p)
		}
	}
	r.mu.Unlock()
	for _, p := range ps {
		if frame != nil {
			p.send(frame)
		}
		if closeAfter {
			p.close(websocket.StatusGoingAway, "Going away")
		}
	}
	return len(ps)
}

// cut cuts the socket of a client (viewer clientID, or the master when
// it is "") of the channel (any channel when arn is ""), without a close
// frame, as a crashed service or a broken network would. It returns how
// many it cut.
func (r *relay) cut(arn, clientID string) int {
	r.mu.Lock()
	var ps []*peer
	for p := range r.peers {
		if (arn == "" || p.arn == arn) && p.clientID == clientID && (clientID != "" || p.role == "MASTER") {
			ps = append(ps, p)
		}
	}
	r.mu.Unlock()
	for _, p := range ps {
		p.raw.Close()
		p.conn.CloseNow()
	}
	return len(ps)
}

// forget drops a deleted channel's state and closes its connections.
func (r *relay) forget(arn string) {
	r.sendToChannel(arn, nil, true)
	r.mu.Lock()
	delete(r.channels, arn)
	r.mu.Unlock()
}

// shutdown sends GO_AWAY to every connection, closes them with 1001 and
// waits for their goroutines, within ctx: when it ends, what is still being
// written is abandoned and every socket is cut.
func (r *relay) shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.sendToChannel("", goAwayFrame, true)
	done := make(chan struct{})
	go func() { r.upgrading.Wait(); r.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		r.mu.Lock()
		ps := make([]*peer, 0, len(r.peers))
		for p := range r.peers {
			ps = append(ps, p)
		}
		r.mu.Unlock()
		for _, p := range ps {
			// A close handshake under way is not ended by CloseNow
			// (coder waits 5 s for the peer's close, and CloseNow for
			// it): cut the socket first.
			p.raw.Close()
			p.conn.CloseNow()
		}
		<-done
	}
	return err
}

// untrack forgets p once its goroutines are done.
func (r *relay) untrack(p *peer) {
	r.mu.Lock()
	delete(r.peers, p)
	r.mu.Unlock()
}

// hijackRecorder keeps the connection websocket.Accept hijacks, so that a
// shutdown past its deadline can cut a socket in the middle of a close
// handshake. It also hands coder/websocket smaller buffers than net/http's:
// coder keeps the hijacked *bufio.ReadWriter for the connection's life
// (accept.go), and net/http's are 4 KB each (server.go newBufioReader,
// bufw), 8 KB of an idle connection's cost.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

// The buffers coder gets. Reading: a frame's payload larger than the
// buffer is read straight into coder's message buffer, so its size costs
// no extra reads of the socket. Writing: coder writes a frame's header and
// payload into the buffer and flushes it once per frame, one TLS record;
// a frame larger than the buffer (an SDP offer or answer, once per
// session) takes two.
const (
	wsReadBuffer  = 512
	wsWriteBuffer = 1024
)

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	if err != nil {
		return c, rw, err
	}
	// net/http flushed the 101 before hijacking (response.Hijack). Its
	// reader may hold bytes the client sent behind the request (a byte its
	// background read took, at least): they must stay in the buffer coder
	// gets, since coder re-bases the reader on the socket behind what is
	// buffered (accept.go).
	if err := rw.Writer.Flush(); err != nil {
		return c, rw, err
	}
	held, _ := rw.Reader.Peek(rw.Reader.Buffered())
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(held)), c), max(wsReadBuffer, len(held)))
	if _, err := br.Peek(len(held)); err != nil { // from the bytes.Reader: no socket read
		return c, rw, err
	}
	return c, bufio.NewReadWriter(br, bufio.NewWriterSize(c, wsWriteBuffer)), nil
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }
