package session

import (
	"context"
	"fmt"

	"github.com/kvsrtc/kvsrtc/signaling"
)

// closeSignaling closes the signaling client: with a close handshake
// bounded by ctx when there is one (Shutdown), at once otherwise.
func closeSignaling(c *signaling.Client, ctx context.Context) {
	if ctx == nil {
		c.Close()
		return
	}
	_ = c.Shutdown(ctx) // at ctx's end it closes at once
}

func (m *Master) gracefully() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.graceful
}

func (v *Viewer) gracefully() context.Context {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.graceful
}

// Shutdown stops the master gracefully within ctx: Run returns nil, every
// viewer's peer connection is closed (DTLS close_notify, so viewers see it
// end at once), and the signaling WebSocket closes with a close handshake.
// When ctx ends first, what is left is cut as Close does, and Shutdown
// returns ctx's error. It waits for every goroutine. After Close or
// Shutdown, Shutdown returns nil at once.
func (m *Master) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.waitRun()
		return nil
	}
	m.closed, m.graceful = true, ctx
	cancel, started := m.cancel, m.started
	m.mu.Unlock()
	if !started {
		return nil
	}
	cancel() // the peers close at once; signaling gets ctx's time
	<-m.runDone
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("shutdown master: %w", err)
	}
	return nil
}

// Shutdown stops the viewer gracefully within ctx: Run returns nil as at
// its media limit, the recording is finished, the peer connection closed
// and the signaling WebSocket closed with a close handshake. When ctx ends
// first, what is left is cut as Close does, and Shutdown returns ctx's
// error. It waits for every goroutine.
func (v *Viewer) Shutdown(ctx context.Context) error {
	v.mu.Lock()
	if v.closed {
		started := v.started
		v.mu.Unlock()
		if started {
			<-v.runDone
		}
		return nil
	}
	v.closed, v.graceful = true, ctx
	cancel, started, connected := v.cancel, v.started, v.link != nil
	v.mu.Unlock()
	if !started {
		return nil
	}
	if connected {
		v.stopOnce.Do(func() { close(v.stop) })
	} else {
		cancel() // still connecting: nothing to finish
	}
	select {
	case <-v.runDone:
	case <-ctx.Done():
		cancel()
		<-v.runDone
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("shutdown viewer: %w", err)
	}
	return nil
}
