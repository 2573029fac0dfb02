package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ServerMessage is a frame the service sends to a client over the signaling
// WebSocket (§4.5).
type ServerMessage struct {
	// SenderClientID is the viewer's client id on frames delivered to the
	// master. It is empty on frames delivered to a viewer, which come from the
	// master; the member is then left out, never sent as "" (§4.5, §11 item 3).
	SenderClientID string
	// MessageType says what the frame is; it is required.
	MessageType MessageType
	// MessagePayload is the sender's base64 text, relayed byte for byte. GO_AWAY,
	// RECONNECT_ICE_SERVER and STATUS_RESPONSE frames usually have none.
	MessagePayload string
	// StatusResponse is set on STATUS_RESPONSE frames.
	StatusResponse *StatusResponse
}

// StatusResponse reports the failure of a client frame that carried a
// correlation id (§4.5). The service sends it only on error (§8 item 5).
type StatusResponse struct {
	// CorrelationID is the correlationId of the failed client frame; required.
	CorrelationID string
	// ErrorType is the error code, such as "InvalidArgumentException".
	ErrorType string
	// StatusCode is the HTTP-style status as a string, such as "400". The C SDK
	// treats anything but "200" as a delivery failure.
	StatusCode string
	// Description explains the failure, in at most MaxDescriptionLength bytes.
	Description string
	// Success is the undocumented boolean seen in the JavaScript SDK's fixture
	// ("success":false); nil leaves it out.
	Success *bool
}

// EncodeServerMessage returns m as the service sends it (§4.5, §13): compact
// JSON, keys in alphabetical order — messagePayload, messageType,
// senderClientId, statusResponse — with empty members left out, and inside
// statusResponse also alphabetical: correlationId, description, errorType,
// statusCode, success. That order matches both the frames in the C SDK's debug
// logs and the JavaScript SDK's STATUS_RESPONSE fixture. The payload is copied
// byte for byte.
//
// A GO_AWAY is exactly {"messageType":"GO_AWAY"}. EncodeServerMessage refuses an
// unknown type, a payload that is not base64 or is longer than MaxPayloadBytes,
// a sender id or correlation id outside [a-zA-Z0-9_.-]{1,256}, a statusCode that
// is not decimal digits and a description longer than MaxDescriptionLength.
func EncodeServerMessage(m ServerMessage) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("encode server message: %w", err)
	}
	mt := m.MessageType.String()
	n := 64 + len(mt) + len(m.MessagePayload) + len(m.SenderClientID)
	if s := m.StatusResponse; s != nil {
		n += 100 + len(s.CorrelationID) + len(s.ErrorType) + len(s.StatusCode) + 2*len(s.Description)
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	if m.MessagePayload != "" {
		b = append(b, `"messagePayload":"`...)
		b = append(b, m.MessagePayload...) // base64: nothing to escape
		b = append(b, `",`...)
	}
	b = append(b, `"messageType":"`...)
	b = append(b, mt...)
	b = append(b, '"')
	if m.SenderClientID != "" {
		b = append(b, `,"senderClientId":"`...)
		b = append(b, m.SenderClientID...)
		b = append(b, '"')
	}
	if s := m.StatusResponse; s != nil {
		b = append(b, `,"statusResponse":{"correlationId":"`...)
		b = append(b, s.CorrelationID...)
		b = append(b, '"')
		if s.Description != "" {
			b = append(b, `,"description":`...)
			b = appendString(b, s.Description)
		}
		if s.ErrorType != "" {
			b = append(b, `,"errorType":`...)
			b = appendString(b, s.ErrorType)
		}
		if s.StatusCode != "" {
			b = append(b, `,"statusCode":"`...)
			b = append(b, s.StatusCode...)
			b = append(b, '"')
		}
		if s.Success != nil {
			b = append(b, `,"success":`...)
			b = strconv.AppendBool(b, *s.Success)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func (m ServerMessage) validate() error {
	if m.MessageType == MessageTypeUnknown {
		return ErrMissingMessageType
	}
	if m.MessageType.String() == "Unknown" {
		return fmt.Errorf("%w: %d", ErrUnknownMessageType, int(m.MessageType))
	}
	if m.MessagePayload != "" {
		if err := checkPayload(m.MessagePayload); err != nil {
			return err
		}
	}
	if m.SenderClientID != "" {
		if err := checkID("senderClientId", m.SenderClientID); err != nil {
			return err
		}
	}
	if s := m.StatusResponse; s != nil {
		if err := checkID("correlationId", s.CorrelationID); err != nil {
			return err
		}
		for i := 0; i < len(s.StatusCode); i++ {
			if s.StatusCode[i] < '0' || s.StatusCode[i] > '9' {
				return fmt.Errorf("%w: statusCode is not decimal digits", ErrInvalidStatusResponse)
			}
		}
		if len(s.Description) > MaxDescriptionLength {
			return fmt.Errorf("%w: description has %d bytes, limit %d", ErrInvalidStatusResponse, len(s.Description), MaxDescriptionLength)
		}
	}
	return nil
}

type serverFrame struct {
	SenderClientID string       `json:"senderClientId"`
	MessageType    string       `json:"messageType"`
	MessagePayload string       `json:"messagePayload"`
	StatusResponse *statusFrame `json:"statusResponse"`
}

type statusFrame struct {
	CorrelationID string          `json:"correlationId"`
	ErrorType     string          `json:"errorType"`
	StatusCode    json.RawMessage `json:"statusCode"`
	Description   string          `json:"description"`
	Success       *bool           `json:"success"`
}

// DecodeServerMessage reads a frame the service sent, for a client (§4.5, §9).
// The service's keys are lowercase camelCase; like all of encoding/json this
// decoder also accepts other casings, and ignores unknown members.
//
// messageType is required (ErrMissingMessageType) and must be known
// (ErrUnknownMessageType: a client should log and skip such a frame, which is
// then returned with MessageTypeUnknown and its other members). A payload, when
// present, must be standard base64 (ErrInvalidPayload); its length is not
// limited here, the WebSocket read limit bounds it. statusCode is read from a
// string, as the service sends it, or from a number.
func DecodeServerMessage(data []byte) (ServerMessage, error) {
	var f serverFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return ServerMessage{}, fmt.Errorf("decode server message: %w", jsonError(err))
	}
	m := ServerMessage{SenderClientID: f.SenderClientID, MessagePayload: f.MessagePayload}
	if s := f.StatusResponse; s != nil {
		code, err := statusCodeText(s.StatusCode)
		if err != nil {
			return ServerMessage{}, fmt.Errorf("decode server message: %w", err)
		}
		m.StatusResponse = &StatusResponse{
			CorrelationID: s.CorrelationID,
			ErrorType:     s.ErrorType,
			StatusCode:    code,
			Description:   s.Description,
			Success:       s.Success,
		}
	}
	if m.MessagePayload != "" {
		if err := checkBase64(m.MessagePayload); err != nil {
			m.MessagePayload = ""
			return m, fmt.Errorf("decode server message: %w", err)
		}
	}
	if f.MessageType == "" {
		return m, fmt.Errorf("decode server message: %w", ErrMissingMessageType)
	}
	mt, err := ParseMessageType(f.MessageType)
	if err != nil {
		return m, fmt.Errorf("decode server message: %w", err)
	}
	m.MessageType = mt
	return m, nil
}

// statusCodeText accepts "400", 400 or null.
func statusCodeText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", jsonError(err)
		}
		return s, nil
	case raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9':
		return string(raw), nil
	default:
		return "", fmt.Errorf("%w: member statusResponse.statusCode: want a string or number", ErrMalformedFrame)
	}
}
