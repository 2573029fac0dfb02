package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// SessionDescription is the payload of SDP_OFFER and SDP_ANSWER frames: the JSON
// of an RTCSessionDescriptionInit (§4.6).
type SessionDescription struct {
	// Type is "offer" or "answer" (also "pranswer" or "rollback" in WebRTC).
	Type string `json:"type"`
	// SDP is the session description text, with CRLF line ends.
	SDP string `json:"sdp"`
}

// ICECandidateInit is the payload of ICE_CANDIDATE frames: the JSON of an
// RTCIceCandidateInit (§4.6). Nil pointers are left out when encoding and are
// what JSON null or an absent member decode to.
type ICECandidateInit struct {
	// Candidate is the candidate line ("candidate:1 1 udp ..."); empty marks the
	// end of candidates.
	Candidate string `json:"candidate"`
	// SDPMid is the media stream identification tag.
	SDPMid *string `json:"sdpMid,omitempty"`
	// SDPMLineIndex is the index of the m= line the candidate belongs to.
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
	// UsernameFragment is the ICE ufrag; browsers send it.
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// EncodePayload returns v as a messagePayload: compact JSON (without
// encoding/json's HTML escaping, which the C SDK's parser does not undo), then
// standard base64 with padding, as browsers' btoa produces (§4.6). A result
// longer than MaxPayloadBytes is an error wrapping ErrPayloadTooLarge.
func EncodePayload(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode payload: %w", err)
	}
	js := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	if n := base64.StdEncoding.EncodedLen(len(js)); n > MaxPayloadBytes {
		return "", fmt.Errorf("encode payload: %w: %d bytes of base64, limit %d", ErrPayloadTooLarge, n, MaxPayloadBytes)
	}
	return base64.StdEncoding.EncodeToString(js), nil
}

// DecodeSDP reads the payload of an SDP_OFFER or SDP_ANSWER frame. The base64
// may be padded or not; the JSON may be laid out as the C SDK writes it. type is
// required. Errors wrap ErrInvalidPayload and never quote the payload, which
// holds the ICE password.
func DecodeSDP(payload string) (SessionDescription, error) {
	var sd SessionDescription
	if err := decodePayload(payload, &sd); err != nil {
		return SessionDescription{}, fmt.Errorf("decode sdp payload: %w", err)
	}
	if sd.Type == "" {
		return SessionDescription{}, fmt.Errorf("decode sdp payload: %w: missing type", ErrInvalidPayload)
	}
	return sd, nil
}

// DecodeICECandidate reads the payload of an ICE_CANDIDATE frame. An empty
// candidate (end of candidates) is valid. Errors wrap ErrInvalidPayload.
func DecodeICECandidate(payload string) (ICECandidateInit, error) {
	var c ICECandidateInit
	if err := decodePayload(payload, &c); err != nil {
		return ICECandidateInit{}, fmt.Errorf("decode ice candidate payload: %w", err)
	}
	return c, nil
}

func decodePayload(payload string, v any) error {
	if payload == "" {
		return ErrMissingPayload
	}
	raw, err := decodeBase64(payload)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidPayload, describeJSON(err))
	}
	return nil
}
