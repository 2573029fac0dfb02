package wire

import "fmt"

// Action is the action of a frame a client sends to the service (§4.4).
type Action int

// The actions a client may send. The zero value is ActionUnknown.
const (
	// ActionUnknown is the zero value; it is never sent.
	ActionUnknown Action = iota
	// ActionSDPOffer carries an SDP offer (SDP_OFFER).
	ActionSDPOffer
	// ActionSDPAnswer carries an SDP answer (SDP_ANSWER).
	ActionSDPAnswer
	// ActionICECandidate carries one trickled ICE candidate (ICE_CANDIDATE).
	ActionICECandidate
)

// String returns the wire name of a, such as "SDP_OFFER", or "Unknown".
func (a Action) String() string {
	switch a {
	case ActionSDPOffer:
		return "SDP_OFFER"
	case ActionSDPAnswer:
		return "SDP_ANSWER"
	case ActionICECandidate:
		return "ICE_CANDIDATE"
	default:
		return "Unknown"
	}
}

// MessageType returns the message type under which the service relays a frame
// with action a to its recipient (§4.5), or MessageTypeUnknown.
func (a Action) MessageType() MessageType {
	switch a {
	case ActionSDPOffer:
		return MessageTypeSDPOffer
	case ActionSDPAnswer:
		return MessageTypeSDPAnswer
	case ActionICECandidate:
		return MessageTypeICECandidate
	default:
		return MessageTypeUnknown
	}
}

// MarshalText implements encoding.TextMarshaler; ActionUnknown is an error.
func (a Action) MarshalText() ([]byte, error) {
	if a.String() == "Unknown" {
		return nil, fmt.Errorf("marshal action %d: %w", int(a), ErrUnknownAction)
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParseAction].
func (a *Action) UnmarshalText(text []byte) error {
	v, err := ParseAction(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAction returns the Action named s, which must be spelt exactly as on the
// wire ("SDP_OFFER", "SDP_ANSWER" or "ICE_CANDIDATE"). Any other name, including
// the types only the service sends, gives an error wrapping [ErrUnknownAction].
func ParseAction(s string) (Action, error) {
	switch s {
	case "SDP_OFFER":
		return ActionSDPOffer, nil
	case "SDP_ANSWER":
		return ActionSDPAnswer, nil
	case "ICE_CANDIDATE":
		return ActionICECandidate, nil
	}
	if mt, err := ParseMessageType(s); err == nil {
		return ActionUnknown, fmt.Errorf("%w: %s is sent only by the service", ErrUnknownAction, mt)
	}
	return ActionUnknown, fmt.Errorf("%w: %s", ErrUnknownAction, quoteExcerpt(s))
}

// MessageType is the type of a frame the service sends to a client (§4.5).
type MessageType int

// The message types the service sends. The zero value is MessageTypeUnknown.
const (
	// MessageTypeUnknown is the zero value; it is never sent.
	MessageTypeUnknown MessageType = iota
	// MessageTypeSDPOffer relays an SDP offer (SDP_OFFER).
	MessageTypeSDPOffer
	// MessageTypeSDPAnswer relays an SDP answer (SDP_ANSWER).
	MessageTypeSDPAnswer
	// MessageTypeICECandidate relays an ICE candidate (ICE_CANDIDATE).
	MessageTypeICECandidate
	// MessageTypeGoAway tells the client the connection will close soon; the
	// client should reconnect with fresh endpoints (GO_AWAY).
	MessageTypeGoAway
	// MessageTypeReconnectICEServer tells the client its TURN server is going
	// away; the client should fetch ICE servers again (RECONNECT_ICE_SERVER).
	MessageTypeReconnectICEServer
	// MessageTypeStatusResponse reports that a frame sent with a correlation id
	// failed (STATUS_RESPONSE).
	MessageTypeStatusResponse
)

// String returns the wire name of t, such as "GO_AWAY", or "Unknown".
func (t MessageType) String() string {
	switch t {
	case MessageTypeSDPOffer:
		return "SDP_OFFER"
	case MessageTypeSDPAnswer:
		return "SDP_ANSWER"
	case MessageTypeICECandidate:
		return "ICE_CANDIDATE"
	case MessageTypeGoAway:
		return "GO_AWAY"
	case MessageTypeReconnectICEServer:
		return "RECONNECT_ICE_SERVER"
	case MessageTypeStatusResponse:
		return "STATUS_RESPONSE"
	default:
		return "Unknown"
	}
}

// MarshalText implements encoding.TextMarshaler; MessageTypeUnknown is an error.
func (t MessageType) MarshalText() ([]byte, error) {
	if t.String() == "Unknown" {
		return nil, fmt.Errorf("marshal message type %d: %w", int(t), ErrUnknownMessageType)
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParseMessageType].
func (t *MessageType) UnmarshalText(text []byte) error {
	v, err := ParseMessageType(string(text))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseMessageType returns the MessageType named s, spelt exactly as on the wire.
// Any other name gives an error wrapping [ErrUnknownMessageType].
func ParseMessageType(s string) (MessageType, error) {
	switch s {
	case "SDP_OFFER":
		return MessageTypeSDPOffer, nil
	case "SDP_ANSWER":
		return MessageTypeSDPAnswer, nil
	case "ICE_CANDIDATE":
		return MessageTypeICECandidate, nil
	case "GO_AWAY":
		return MessageTypeGoAway, nil
	case "RECONNECT_ICE_SERVER":
		return MessageTypeReconnectICEServer, nil
	case "STATUS_RESPONSE":
		return MessageTypeStatusResponse, nil
	}
	return MessageTypeUnknown, fmt.Errorf("%w: %s", ErrUnknownMessageType, quoteExcerpt(s))
}
