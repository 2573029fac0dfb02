package wire

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Errors reported by the frame encoders and decoders. They are wrapped with
// context; test for them with errors.Is.
var (
	// ErrMalformedFrame means a frame is not a JSON object of the expected shape.
	ErrMalformedFrame = errors.New("malformed frame")
	// ErrMissingAction means a client frame has no action.
	ErrMissingAction = errors.New("missing action")
	// ErrUnknownAction means a client frame names an action clients cannot send.
	ErrUnknownAction = errors.New("unknown action")
	// ErrMissingMessageType means a service frame has no messageType.
	ErrMissingMessageType = errors.New("missing message type")
	// ErrUnknownMessageType means a service frame names a type this package does
	// not know. A client should skip such a frame.
	ErrUnknownMessageType = errors.New("unknown message type")
	// ErrMissingPayload means a frame that needs a messagePayload has none.
	ErrMissingPayload = errors.New("missing message payload")
	// ErrInvalidPayload means a messagePayload is not standard base64, or its
	// decoded content is not the JSON the message type calls for.
	ErrInvalidPayload = errors.New("invalid message payload")
	// ErrPayloadTooLarge means a messagePayload is longer than MaxPayloadBytes.
	// The service answers it with InvalidArgumentException (§8 item 5).
	ErrPayloadTooLarge = errors.New("message payload too large")
	// ErrInvalidID means a client id or correlation id does not match
	// [a-zA-Z0-9_.-]{1,256}.
	ErrInvalidID = errors.New("invalid id")
	// ErrInvalidStatusResponse means a statusResponse cannot be encoded as is.
	ErrInvalidStatusResponse = errors.New("invalid status response")
)

// quoteExcerpt quotes at most 32 bytes of s for an error message. It is used
// only for names (actions, message types), never for payloads or secrets.
func quoteExcerpt(s string) string {
	const limit = 32
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}
