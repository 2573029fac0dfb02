package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ClientMessage is a frame a client sends to the service over the signaling
// WebSocket (§4.4).
type ClientMessage struct {
	// Action says what the payload is; it is required.
	Action Action
	// MessagePayload is the base64 text exactly as sent: the service relays it
	// untouched. Build it with EncodePayload.
	MessagePayload string
	// RecipientClientID names the viewer a master sends to. Viewers leave it
	// empty (the service ignores it and routes to the master).
	RecipientClientID string
	// CorrelationID, when set, asks the service to answer a failure with a
	// STATUS_RESPONSE that carries it.
	CorrelationID string
}

// EncodeClientMessage returns m as the JavaScript SDK sends it: compact JSON
// with the keys action, messagePayload, recipientClientId and correlationId in
// that order, empty members left out (§4.4, §9). It refuses a message the service
// would reject, with the same errors as DecodeClientMessage.
func EncodeClientMessage(m ClientMessage) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("encode client message: %w", err)
	}
	// Every value is now restricted to characters that need no JSON escaping.
	action := m.Action.String()
	b := make([]byte, 0, 80+len(action)+len(m.MessagePayload)+len(m.RecipientClientID)+len(m.CorrelationID))
	b = append(b, `{"action":"`...)
	b = append(b, action...)
	b = append(b, `","messagePayload":"`...)
	b = append(b, m.MessagePayload...)
	b = append(b, '"')
	if m.RecipientClientID != "" {
		b = append(b, `,"recipientClientId":"`...)
		b = append(b, m.RecipientClientID...)
		b = append(b, '"')
	}
	if m.CorrelationID != "" {
		b = append(b, `,"correlationId":"`...)
		b = append(b, m.CorrelationID...)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

func (m ClientMessage) validate() error {
	switch m.Action {
	case ActionSDPOffer, ActionSDPAnswer, ActionICECandidate:
	case ActionUnknown:
		return ErrMissingAction
	default:
		return fmt.Errorf("%w: %d", ErrUnknownAction, int(m.Action))
	}
	if err := checkPayload(m.MessagePayload); err != nil {
		return err
	}
	if m.RecipientClientID != "" {
		if err := checkID("recipientClientId", m.RecipientClientID); err != nil {
			return err
		}
	}
	if m.CorrelationID != "" {
		if err := checkID("correlationId", m.CorrelationID); err != nil {
			return err
		}
	}
	return nil
}

// clientFrame is what DecodeClientMessage reads. encoding/json matches member
// names case-insensitively and skips unknown members, which is what §4.4 asks.
type clientFrame struct {
	Action            string `json:"action"`
	MessagePayload    string `json:"messagePayload"`
	RecipientClientID string `json:"recipientClientId"`
	CorrelationID     string `json:"correlationId"`
}

// DecodeClientMessage reads a frame a client sent, as the service does (§4.4):
// member names are matched case-insensitively, so the JavaScript SDK's
// messagePayload and the C SDK's MessagePayload both work, whitespace is free and
// unknown members (the C SDK's IceServerList) are ignored. An empty
// recipientClientId or correlationId counts as absent.
//
// It checks, in this order: the frame is a JSON object (ErrMalformedFrame); the
// action is present (ErrMissingAction) and one a client may send
// (ErrUnknownAction); the payload is present (ErrMissingPayload), at most
// MaxPayloadBytes long (ErrPayloadTooLarge) and standard base64, padded or not
// (ErrInvalidPayload); the ids match [a-zA-Z0-9_.-]{1,256} (ErrInvalidID).
//
// On error the returned message still holds every member that was read and
// passed its own check; in particular CorrelationID is set whenever it is valid,
// so a server can answer with a STATUS_RESPONSE. Error texts never contain the
// payload.
func DecodeClientMessage(data []byte) (ClientMessage, error) {
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return ClientMessage{}, fmt.Errorf("decode client message: %w", jsonError(err))
	}
	var m ClientMessage
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	var corrErr error
	if f.CorrelationID != "" {
		if corrErr = checkID("correlationId", f.CorrelationID); corrErr == nil {
			m.CorrelationID = f.CorrelationID
		}
	}
	if f.Action == "" {
		fail(ErrMissingAction)
	} else if a, err := ParseAction(f.Action); err != nil {
		fail(err)
	} else {
		m.Action = a
	}
	if err := checkPayload(f.MessagePayload); err != nil {
		fail(err)
	} else {
		m.MessagePayload = f.MessagePayload
	}
	if f.RecipientClientID != "" {
		if err := checkID("recipientClientId", f.RecipientClientID); err != nil {
			fail(err)
		} else {
			m.RecipientClientID = f.RecipientClientID
		}
	}
	if corrErr != nil {
		fail(corrErr)
	}
	if first != nil {
		return m, fmt.Errorf("decode client message: %w", first)
	}
	return m, nil
}

// jsonError turns a decoding error from encoding/json into ErrMalformedFrame.
func jsonError(err error) error {
	return fmt.Errorf("%w: %s", ErrMalformedFrame, describeJSON(err))
}

// describeJSON describes a decoding error from encoding/json without quoting the
// input, which may hold secrets.
func describeJSON(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid json at offset %d", syn.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("want a json object, got %s", kindOf(typ.Value))
	case errors.As(err, &typ):
		return fmt.Sprintf("member %s: want %s, got %s", typ.Field, typ.Type, kindOf(typ.Value))
	default:
		return "not valid json"
	}
}

// kindOf keeps only the first word of UnmarshalTypeError.Value ("number 70000"
// becomes "number").
func kindOf(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			return v[:i]
		}
	}
	return v
}
