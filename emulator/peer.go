package emulator

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/kvsrtc/kvsrtc/wire"
)

// writeTimeout bounds one frame's write to a client.
const writeTimeout = 5 * time.Second

func newLimiter(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
}

// peer is one WSS connection. It has one goroutine of its own, readLoop;
// frames queued for it are written by a goroutine that runs only while
// there is something to write (flush), and its three deadlines (idle,
// GO_AWAY, end) share one AfterFunc timer that a frame read does not
// touch: an idle connection costs its socket, TLS and WebSocket state and
// one parked goroutine (README, Performance: emulator scale).
type peer struct {
	r        *relay
	arn      string
	role     string
	clientID string
	seq      uint64 // upgrade order (relay.seq)
	conn     *websocket.Conn
	raw      net.Conn // the hijacked socket under conn
	sdp, ice *rate.Limiter
	// inbound and channelIn are the frame-read budgets of the connection
	// and of its channel (Limits.FramesPerSecond, ChannelFramesPerSecond).
	inbound, channelIn *rate.Limiter

	// The deadlines, from born (monotonic): the connection is closed
	// idleTimeout after the last frame or ping read (lastRead), gets
	// GO_AWAY at goAwayAt and is closed at endAt (Limits.IdleTimeout,
	// MaxConnDuration, GoAwayGrace; §4.7). timer fires at the earliest and
	// re-arms itself (tick).
	born                         time.Time
	lastRead                     atomic.Int64 // time.Duration since born
	idleTimeout, goAwayAt, endAt time.Duration
	timer                        *time.Timer

	mu         sync.Mutex
	queue      [][]byte // frames to write, oldest first; nil when empty
	room       int      // how many may wait (peerQueue, plus a backlog)
	started    bool
	stopped    bool
	writing    bool // a flush goroutine runs; it owns conn's writes
	goAwaySent bool
	waitCancel context.CancelFunc // ends readLoop's wait for its frame budget
	closeCode  websocket.StatusCode
	reason     string
}

// start arms the connection's timer; from then on a frame queued is
// written and a stop closes the socket.
func (p *peer) start(lim Limits) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.born = time.Now()
	p.idleTimeout, p.goAwayAt, p.endAt = lim.IdleTimeout, lim.MaxConnDuration-lim.GoAwayGrace, lim.MaxConnDuration
	p.timer = time.AfterFunc(min(p.idleTimeout, p.goAwayAt, p.endAt), p.tick)
	p.started = true
	if len(p.queue) > 0 || p.stopped {
		p.flushLocked()
	}
}

// touch records that a frame or a ping arrived (it postpones the idle
// deadline); it is a store, so that a frame read costs no timer reset.
func (p *peer) touch() {
	p.lastRead.Store(int64(time.Since(p.born)))
}

// tick runs when the earliest deadline may have come: it closes an idle
// or expired connection, sends GO_AWAY once, and re-arms the timer for the
// next deadline.
func (p *peer) tick() {
	now := time.Since(p.born)
	idleAt := time.Duration(p.lastRead.Load()) + p.idleTimeout
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	end := now >= p.endAt || now >= idleAt
	goAway := !end && !p.goAwaySent && now >= p.goAwayAt
	p.goAwaySent = p.goAwaySent || goAway
	if !end {
		next := min(p.endAt, idleAt)
		if !p.goAwaySent {
			next = min(next, p.goAwayAt)
		}
		p.timer.Reset(next - now)
	}
	p.mu.Unlock()
	if goAway {
		p.send(goAwayFrame)
	}
	if end {
		p.close(websocket.StatusGoingAway, "Going away")
	}
}

// send queues a frame for the peer; a peer that does not keep up is
// closed rather than allowed to block its senders (§4.7).
func (p *peer) send(frame []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if len(p.queue) >= p.room {
		p.stopLocked(websocket.StatusPolicyViolation, "too slow")
		return
	}
	p.queue = append(p.queue, frame)
	p.flushLocked()
}

// close asks the peer's writer to close the socket, and frees its slot at
// once (§13: a closed socket frees its viewer slot at once).
func (p *peer) close(code websocket.StatusCode, reason string) {
	p.mu.Lock()
	p.stopLocked(code, reason)
	p.mu.Unlock()
}

func (p *peer) stopLocked(code websocket.StatusCode, reason string) {
	if p.stopped {
		return
	}
	p.stopped, p.closeCode, p.reason = true, code, reason
	if p.waitCancel != nil {
		p.waitCancel()
	}
	p.r.detach(p)
	p.flushLocked()
}

// flushLocked starts the writer unless it runs or the peer has not
// started; p.mu is held. The relay's WaitGroup counts it: readLoop's count
// is still held whenever it starts (readLoop ends by stopping the peer).
func (p *peer) flushLocked() {
	if p.writing || !p.started {
		return
	}
	p.writing = true
	p.r.wg.Add(1)
	go p.flush()
}

// flush writes the queued frames and ends when the queue is empty; once
// the peer stopped it writes what is left (e.g. a GO_AWAY) and closes the
// socket as the service does: 1001 "Going away" (§13).
func (p *peer) flush() {
	defer p.r.wg.Done()
	// A write gives up after writeTimeout through the socket's deadline,
	// not a context: a context per write cost a timer and, in coder, an
	// AfterFunc, both registered under one lock shared by every peer. A
	// shutdown past its deadline cuts the sockets, which ends the writes.
	write := func(f []byte) bool {
		_ = p.raw.SetWriteDeadline(time.Now().Add(writeTimeout))
		return p.conn.Write(context.Background(), websocket.MessageText, f) == nil
	}
	failed := false
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			f := p.queue[0]
			p.queue[0] = nil
			if p.queue = p.queue[1:]; len(p.queue) == 0 {
				p.queue = nil // an idle peer holds no queue
			}
			p.mu.Unlock()
			if !failed && !write(f) {
				failed = true
				p.close(websocket.StatusGoingAway, "write failed")
			}
			continue
		}
		if !p.stopped {
			p.writing = false
			p.mu.Unlock()
			return
		}
		code, reason := p.closeCode, p.reason
		p.mu.Unlock()
		p.timer.Stop()
		_ = p.raw.SetWriteDeadline(time.Time{}) // coder bounds the close handshake itself
		p.conn.Close(code, reason)
		p.r.untrack(p)
		return
	}
}

var (
	goAwayFrame, _    = wire.EncodeServerMessage(wire.ServerMessage{MessageType: wire.MessageTypeGoAway})
	reconnectFrame, _ = wire.EncodeServerMessage(wire.ServerMessage{MessageType: wire.MessageTypeReconnectICEServer})
)

func (p *peer) readLoop() {
	defer p.r.wg.Done()
	defer p.close(websocket.StatusGoingAway, "Going away")
	for {
		typ, data, err := p.conn.Read(context.Background())
		if err != nil {
			return
		}
		p.touch()
		p.r.framesRead.Add(1)
		if !p.budget() {
			return
		}
		if typ != websocket.MessageText {
			continue // §4.5: text frames only
		}
		p.handle(data)
	}
}

// budget waits until the connection and its channel may have one more
// frame read: a client past its budget is not read from (TCP slows it
// down), so one flooding channel cannot take the relay's CPU from the
// others. It returns false when the peer stopped while waiting.
func (p *peer) budget() bool {
	for _, l := range [...]*rate.Limiter{p.inbound, p.channelIn} {
		if l == nil || l.Allow() {
			continue
		}
		p.r.throttledReads.Add(1)
		// A context only while waiting: an idle peer holds none.
		ctx, cancel := context.WithCancel(context.Background())
		p.mu.Lock()
		stopped := p.stopped
		p.waitCancel = cancel
		p.mu.Unlock()
		err := context.Canceled
		if !stopped {
			err = l.Wait(ctx)
		}
		p.mu.Lock()
		p.waitCancel = nil
		p.mu.Unlock()
		cancel()
		if err != nil {
			return false
		}
	}
	return true
}

// status sends an error STATUS_RESPONSE, only when the client gave a
// correlation id (§4.4, §8 item 5).
func (p *peer) status(correlationID, errorType, statusCode, description string) {
	if correlationID == "" {
		return
	}
	f := false
	if len(description) > wire.MaxDescriptionLength {
		description = description[:wire.MaxDescriptionLength]
	}
	frame, err := wire.EncodeServerMessage(wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse,
		StatusResponse: &wire.StatusResponse{CorrelationID: correlationID, ErrorType: errorType, StatusCode: statusCode,
			Description: description, Success: &f}})
	if err == nil {
		p.send(frame)
	}
}

func (p *peer) handle(data []byte) {
	m, err := wire.DecodeClientMessage(data)
	if err != nil {
		p.status(m.CorrelationID, "InvalidArgumentException", "400", err.Error())
		return
	}
	if len(m.MessagePayload) > p.r.e.opts.Limits.MaxPayload {
		p.status(m.CorrelationID, "InvalidArgumentException", "400",
			fmt.Sprintf("messagePayload is %d bytes; the limit is %d", len(m.MessagePayload), p.r.e.opts.Limits.MaxPayload))
		return
	}
	if p.toStorage(m) { // a storage session's answer or candidate (storage.go, §6)
		return
	}
	if p.role == "VIEWER" {
		// §4.4: a viewer talks only to the master; its recipient is ignored.
		if p.allow(m) {
			frame, _ := wire.EncodeServerMessage(wire.ServerMessage{SenderClientID: p.clientID, MessageType: m.Action.MessageType(), MessagePayload: m.MessagePayload})
			p.r.deliver(p, "", frame, m)
		}
		return
	}
	switch {
	case m.Action == wire.ActionSDPOffer:
		// §13: a master's SDP_OFFER is dropped.
		p.status(m.CorrelationID, "InvalidArgumentException", "400", "a master cannot send SDP_OFFER")
		return
	case m.RecipientClientID == "":
		p.status(m.CorrelationID, "InvalidArgumentException", "400", "recipientClientId is required on messages from the master")
		return
	}
	if !p.allow(m) {
		return
	}
	// §4.5: no senderClientId toward viewers.
	frame, _ := wire.EncodeServerMessage(wire.ServerMessage{MessageType: m.Action.MessageType(), MessagePayload: m.MessagePayload})
	p.r.deliver(p, m.RecipientClientID, frame, m)
}

// allow applies the per-connection quotas (§7: SDP 5/s, ICE 20/s); a
// throttled message is dropped, never the socket (§4.4).
func (p *peer) allow(m wire.ClientMessage) bool {
	lim := p.sdp
	if m.Action == wire.ActionICECandidate {
		lim = p.ice
	}
	if lim.Allow() {
		return true
	}
	p.status(m.CorrelationID, "ClientLimitExceededException", "400", m.Action.String()+" messages exceed this connection's rate limit")
	return false
}
