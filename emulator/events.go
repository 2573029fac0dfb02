package emulator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
)

// ErrClosed is returned by the Wait methods once the emulator is closed.
var ErrClosed = errors.New("emulator closed")

// ConnectionEvent reports a WSS signaling connection opening or ending, to
// Options.OnConnection and the Wait methods.
type ConnectionEvent struct {
	// ChannelARN is the channel the connection is for.
	ChannelARN string
	// Role is channel.RoleMaster or channel.RoleViewer.
	Role channel.Role
	// ClientID is the viewer's client id; "" for the master.
	ClientID string
	// Connected is true when the connection opened, false when it ended
	// (the client closed it, a fault dropped it, a newer connection with the
	// same role and client id took over, or the emulator stopped).
	Connected bool
	// Reconnect is true when this role and client id had connected to the
	// channel before (a reconnection after GO_AWAY, a drop or a restart of
	// the client).
	Reconnect bool
	// Conn numbers the connection: it grows with every connection the
	// emulator accepts, so a newer connection has a larger one.
	Conn uint64
	// At is when it happened, by the emulator's clock.
	At time.Time
}

// String is a short description for logs and test failures.
func (ev ConnectionEvent) String() string {
	what := "disconnected"
	switch {
	case ev.Connected && ev.Reconnect:
		what = "reconnected"
	case ev.Connected:
		what = "connected"
	}
	who := ev.Role.String()
	if ev.ClientID != "" {
		who += " " + ev.ClientID
	}
	return fmt.Sprintf("%s %s (conn %d) on %s", who, what, ev.Conn, ev.ChannelARN)
}

// maxPendingEvents bounds the events waiting for a slow OnConnection.
const maxPendingEvents = 4096

// connEvents numbers connections, remembers who connected before, wakes
// waiters on every change and hands events to Options.OnConnection on one
// goroutine, in order, so the hook may call the Emulator.
type connEvents struct {
	hook func(ConnectionEvent)

	mu      sync.Mutex
	next    uint64
	live    map[*peer]ConnectionEvent // live connections' connect events
	seen    map[string]bool
	changed chan struct{} // closed and replaced on every event
	pending []ConnectionEvent
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newConnEvents(hook func(ConnectionEvent)) *connEvents {
	ev := &connEvents{hook: hook, live: map[*peer]ConnectionEvent{}, seen: map[string]bool{}, changed: make(chan struct{}),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if hook == nil {
		close(ev.done)
	} else {
		go ev.dispatch()
	}
	return ev
}

func roleOf(role string) channel.Role {
	if role == "MASTER" {
		return channel.RoleMaster
	}
	return channel.RoleViewer
}

// opened numbers p and reports it connected.
func (ev *connEvents) opened(p *peer, at time.Time) {
	ev.mu.Lock()
	ev.next++
	key := p.role + "/" + p.arn + "/" + p.clientID
	c := ConnectionEvent{ChannelARN: p.arn, Role: roleOf(p.role), ClientID: p.clientID, Connected: true,
		Reconnect: ev.seen[key], Conn: ev.next, At: at}
	ev.seen[key] = true
	ev.live[p] = c
	ev.emitLocked(c)
	ev.mu.Unlock()
}

// closed reports p ended, if it was reported connected.
func (ev *connEvents) closed(p *peer, at time.Time) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	c, ok := ev.live[p]
	if !ok {
		return
	}
	delete(ev.live, p)
	c.Connected, c.At = false, at
	ev.emitLocked(c)
}

// connectEvent is p's connect event; false before it is reported.
func (ev *connEvents) connectEvent(p *peer) (ConnectionEvent, bool) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	c, ok := ev.live[p]
	return c, ok
}

func (ev *connEvents) emitLocked(e ConnectionEvent) {
	close(ev.changed)
	ev.changed = make(chan struct{})
	if ev.hook == nil {
		return
	}
	if len(ev.pending) == maxPendingEvents {
		ev.pending = ev.pending[1:]
	}
	ev.pending = append(ev.pending, e)
	select {
	case ev.wake <- struct{}{}:
	default:
	}
}

// dispatch calls the hook until shutdown, then once more for what is left.
func (ev *connEvents) dispatch() {
	defer close(ev.done)
	for {
		select {
		case <-ev.wake:
		case <-ev.stop:
			ev.flush()
			return
		}
		ev.flush()
	}
}

func (ev *connEvents) flush() {
	for {
		ev.mu.Lock()
		batch := ev.pending
		ev.pending = nil
		ev.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, e := range batch {
			ev.hook(e)
		}
	}
}

// shutdown delivers the events left and stops the dispatcher.
func (ev *connEvents) shutdown() {
	select {
	case <-ev.stop:
	default:
		close(ev.stop)
	}
	<-ev.done
}

// changes returns a channel closed at the next event.
func (ev *connEvents) changes() <-chan struct{} {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.changed
}

// current returns the live connection of role and client id on a channel.
func (r *relay) current(arn string, role channel.Role, clientID string) (ConnectionEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.channels[arn]
	if cs == nil {
		return ConnectionEvent{}, false
	}
	p := cs.master
	if role != channel.RoleMaster {
		p = cs.viewers[clientID]
	}
	if p == nil {
		return ConnectionEvent{}, false
	}
	return r.e.events.connectEvent(p)
}

// WaitConnected returns once a client of role (and, for a viewer, client
// id) is connected to the channel: at once if it is, else at its
// connection. It returns ctx's error if that comes first.
func (e *Emulator) WaitConnected(ctx context.Context, channelARN string, role channel.Role, clientID string) (ConnectionEvent, error) {
	return e.waitConn(ctx, channelARN, role, clientID, 0)
}

// WaitReconnected returns once a connection of the same channel, role and
// client id newer than prev (from WaitConnected or OnConnection) is open:
// after GoAway or DropConnections, the client came back. It returns ctx's
// error if that comes first.
func (e *Emulator) WaitReconnected(ctx context.Context, prev ConnectionEvent) (ConnectionEvent, error) {
	return e.waitConn(ctx, prev.ChannelARN, prev.Role, prev.ClientID, prev.Conn)
}

func (e *Emulator) waitConn(ctx context.Context, arn string, role channel.Role, clientID string, after uint64) (ConnectionEvent, error) {
	if role == channel.RoleMaster {
		clientID = ""
	}
	for {
		changed := e.events.changes() // before looking, so no event is missed
		if c, ok := e.relay.current(arn, role, clientID); ok && c.Conn > after {
			return c, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			who := role.String()
			if clientID != "" {
				who += " " + clientID
			}
			return ConnectionEvent{}, fmt.Errorf("wait for %s on %s: %w", who, arn, ctx.Err())
		case <-e.done:
			return ConnectionEvent{}, fmt.Errorf("wait for a connection on %s: %w", arn, ErrClosed)
		}
	}
}
