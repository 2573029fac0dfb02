package signaling

import (
	"strconv"
	"time"
)

// State is the connection state of a Client.
type State int

// States. The zero value is StateUnknown.
const (
	// StateUnknown is the zero value; a Client never reports it.
	StateUnknown State = iota
	// StateConnecting: the first connection is being opened (inside Dial).
	StateConnecting
	// StateConnected: the WebSocket is open; sends go out at once.
	StateConnected
	// StateReconnecting: the connection was lost (server close, GO_AWAY,
	// RECONNECT_ICE_SERVER, network error) and the Client is opening a new one
	// with backoff. Sends wait.
	StateReconnecting
	// StateClosed: Close was called, the context given to Dial ended, or Dial
	// failed. Final.
	StateClosed
)

// String returns the state's name, such as "Connected".
func (s State) String() string {
	switch s {
	case StateUnknown:
		return "Unknown"
	case StateConnecting:
		return "Connecting"
	case StateConnected:
		return "Connected"
	case StateReconnecting:
		return "Reconnecting"
	case StateClosed:
		return "Closed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// StateChange reports one transition to Options.OnStateChange.
type StateChange struct {
	// State is the new state.
	State State
	// Err is why the previous connection ended (for StateReconnecting) or why
	// the client stopped (for StateClosed after a failed Dial); nil otherwise.
	// It never contains a presigned URL.
	Err error
	// At is when the change happened, by Options.Clock.
	At time.Time
}

// RefreshReason says why a Client calls Options.Refresh.
type RefreshReason int

// Refresh reasons. The zero value is RefreshUnknown.
const (
	// RefreshUnknown is the zero value; never passed to Refresh.
	RefreshUnknown RefreshReason = iota
	// RefreshAuth: the handshake was refused with 401 or 403, or credentials
	// could not be retrieved. Fetch credentials again (and check the clock).
	RefreshAuth
	// RefreshNotFound: the handshake was refused with 404. The channel was
	// deleted or re-created: describe it and fetch its endpoints again.
	RefreshNotFound
	// RefreshEndpoint: the endpoint could not be reached (connection refused,
	// DNS, TLS, timeout) or answered 400/5xx. Fetch the endpoints again.
	RefreshEndpoint
	// RefreshGoAway: the service sent GO_AWAY. Fetch the endpoints again.
	RefreshGoAway
	// RefreshReconnectICEServer: the service sent RECONNECT_ICE_SERVER. Fetch
	// the ICE servers (GetIceServerConfig) again.
	RefreshReconnectICEServer
)

// String returns the reason's name, such as "auth".
func (r RefreshReason) String() string {
	switch r {
	case RefreshUnknown:
		return "unknown"
	case RefreshAuth:
		return "auth"
	case RefreshNotFound:
		return "not-found"
	case RefreshEndpoint:
		return "endpoint"
	case RefreshGoAway:
		return "go-away"
	case RefreshReconnectICEServer:
		return "reconnect-ice-server"
	}
	return "RefreshReason(" + strconv.Itoa(int(r)) + ")"
}
