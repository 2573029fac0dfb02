// Package signaling is the client of the KVS WebRTC signaling WebSocket
// (ConnectAsMaster / ConnectAsViewer): it presigns the wss:// URL, opens it,
// sends and receives typed frames, and reopens it when it drops. Section
// numbers (§) refer to the project's kvs-protocol.md.
//
// Use [Dial] with [Options] to connect as master or viewer; it returns a
// [Client]. Send with [Client.SendOffer], [Client.SendAnswer] and
// [Client.SendICECandidate] (or [Client.Send] for a raw [wire.ClientMessage]);
// receive every frame, in order, from [Client.Messages] as a [Message]. Stop
// with [Client.Close] (immediate) or [Client.Shutdown] (close handshake).
//
// Use [Presign] alone to build a presigned URL for another WebSocket client,
// such as a browser.
//
// # Correlation ids and status responses
//
// A send given [WithCorrelationID] or [WithNewCorrelationID] returns the id
// the frame carried. The service answers only failures, with a
// STATUS_RESPONSE frame that arrives on Messages like any other; match its
// StatusResponse.CorrelationID to the id. Success is silent (§4.4), so do not
// wait for one.
//
// # Reconnection
//
// The Client reconnects by itself, forever, until Close: after the service
// closes the socket (idle timeout, the 1-hour limit, 1001 "Going away"),
// after a network error or an unanswered ping, and after GO_AWAY or
// RECONNECT_ICE_SERVER, which are also delivered on Messages so the caller
// can fetch ICE servers again. Every attempt calls Options.Endpoint, retrieves
// credentials and presigns a new URL (a fresh X-Amz-Date); attempts are spaced
// by [Backoff] (exponential, full jitter). Before an attempt the Client calls
// Options.Refresh with a [RefreshReason] when fresh credentials or endpoints
// may help: GO_AWAY, RECONNECT_ICE_SERVER, 401/403 (auth), 404 (channel
// gone), unreachable endpoints. A 403 whose Date header is more than a minute
// from Options.Clock also makes the Client sign with the service's time.
//
// While reconnecting, sends wait for the new connection as long as their
// context allows (they do not fail fast); see [Client.Send].
//
// Watch the connection with Options.OnStateChange ([State]: Connecting,
// Connected, Reconnecting, Closed) and count with [Client.Stats].
//
// # Errors
//
// Dial's error is a [DialError]: the channel and role, the cause (a
// [HandshakeError] when the service refused the upgrade: [StatusCode] reads
// its status) and a hint where the fix is known (an untrusted CA, a missing
// kinesisvideo:ConnectAsMaster/ConnectAsViewer permission, a stale
// endpoint, throttling). Sends after Close return [ErrClosed] at once,
// without waiting for the rate quota.
//
// # Caveats
//
// The presigned URL is a bearer credential until it expires: the Client logs
// it only through wire.RedactURL, and no error it returns contains it.
// Callbacks (OnStateChange, Refresh) run on the Client's goroutine and must
// not call Close. The service does not queue what a broken connection lost;
// a send that fails with [ErrNotConnected] may or may not have been
// delivered.
package signaling
