package signaling

import (
	"sync/atomic"
	"time"
)

// Stats are a Client's counters, named after the C SDK's signaling metrics
// (numberOfMessagesSent, numberOfMessagesReceived, numberOfReconnects,
// numberOfErrors, iceRefreshCount, connectCallTime; spec §12).
type Stats struct {
	// MessagesSent counts frames written to the WebSocket.
	MessagesSent uint64
	// MessagesReceived counts frames read from the WebSocket, including
	// frames that could not be decoded.
	MessagesReceived uint64
	// Reconnects counts connections opened after the first.
	Reconnects uint64
	// Errors counts failed connection attempts, failed sends, undecodable
	// frames and failed Refresh calls.
	Errors uint64
	// ICERefreshes counts RECONNECT_ICE_SERVER frames.
	ICERefreshes uint64
	// ConnectTime is how long the last successful connection took, from
	// fetching the endpoint to the end of the handshake.
	ConnectTime time.Duration
}

type counters struct {
	sent, received, reconnects, errors, iceRefreshes atomic.Uint64
	connectTime                                      atomic.Int64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		MessagesSent:     c.stats.sent.Load(),
		MessagesReceived: c.stats.received.Load(),
		Reconnects:       c.stats.reconnects.Load(),
		Errors:           c.stats.errors.Load(),
		ICERefreshes:     c.stats.iceRefreshes.Load(),
		ConnectTime:      time.Duration(c.stats.connectTime.Load()),
	}
}
