package emulator

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/kvsrtc/kvsrtc/wire"
)

func newLimiter(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
}

// peer is one WSS connection.
type peer struct {
	r        *relay
	arn      string
	role     string
	clientID string
	seq      uint64 // upgrade order (relay.seq)
	conn     *websocket.Conn
	raw      net.Conn // the hijacked socket under conn
	out      chan []byte
	activity chan struct{}
	sdp, ice *rate.Limiter
	// inbound and channelIn are the frame-read budgets of the connection
	// and of its channel (Limits.FramesPerSecond, ChannelFramesPerSecond).
	inbound, channelIn *rate.Limiter
	ctx                context.Context // ends when the peer stops
	cancel             context.CancelFunc

	mu        sync.Mutex
	stopped   bool
	stop      chan struct{}
	closeCode websocket.StatusCode
	reason    string
}

func (p *peer) touch() {
	select {
	case p.activity <- struct{}{}:
	default:
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
	select {
	case p.out <- frame:
	default:
		p.stopLocked(websocket.StatusPolicyViolation, "too slow")
	}
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
	close(p.stop)
	if p.cancel != nil {
		p.cancel()
	}
	p.r.detach(p)
}

func (p *peer) writeLoop(lim Limits) {
	defer p.r.wg.Done()
	defer p.r.untrack(p)
	ctx := p.r.life // a shutdown's deadline ends the writes
	idle := time.NewTimer(lim.IdleTimeout)
	goAway := time.NewTimer(lim.MaxConnDuration - lim.GoAwayGrace)
	end := time.NewTimer(lim.MaxConnDuration)
	defer idle.Stop()
	defer goAway.Stop()
	defer end.Stop()
	write := func(f []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return p.conn.Write(wctx, websocket.MessageText, f) == nil
	}
	for {
		select {
		case f := <-p.out:
			if !write(f) {
				p.close(websocket.StatusGoingAway, "write failed")
			}
		case <-p.activity:
			if !idle.Stop() {
				select {
				case <-idle.C:
				default:
				}
			}
			idle.Reset(lim.IdleTimeout)
		case <-idle.C:
			p.close(websocket.StatusGoingAway, "Going away")
		case <-goAway.C:
			write(goAwayFrame)
		case <-end.C:
			p.close(websocket.StatusGoingAway, "Going away")
		case <-p.stop:
			// Flush what is queued (e.g. a GO_AWAY), then close as the
			// service does: 1001 "Going away" (§13).
			for {
				select {
				case f := <-p.out:
					write(f)
					continue
				default:
				}
				break
			}
			p.conn.Close(p.closeCode, p.reason)
			return
		}
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
	for _, l := range []*rate.Limiter{p.inbound, p.channelIn} {
		if l == nil || l.Allow() {
			continue
		}
		p.r.throttledReads.Add(1)
		if l.Wait(p.ctx) != nil {
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
