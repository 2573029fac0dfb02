package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

// b64 is a short valid payload: base64 of {"type":"offer","sdp":"v=0\r\n"}.
const b64 = "eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiJ2PTBcclxuIn0="

func TestDecodeClientMessageClients(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  wire.ClientMessage
	}{
		{
			name:  "js sdk master",
			frame: `{"action":"SDP_ANSWER","messagePayload":"` + b64 + `","recipientClientId":"viewer-1","correlationId":"1697058567743"}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPAnswer, MessagePayload: b64, RecipientClientID: "viewer-1", CorrelationID: "1697058567743"},
		},
		{
			name:  "js sdk viewer without recipient",
			frame: `{"action":"ICE_CANDIDATE","messagePayload":"` + b64 + `"}`,
			want:  wire.ClientMessage{Action: wire.ActionICECandidate, MessagePayload: b64},
		},
		{
			name:  "c sdk siglib compact capitalised empty recipient",
			frame: `{"action":"SDP_OFFER","RecipientClientId":"","MessagePayload":"` + b64 + `","CorrelationId":"abc_1.2-3"}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: b64, CorrelationID: "abc_1.2-3"},
		},
		{
			name: "c sdk older pretty printed with IceServerList",
			frame: "{\n\t\"action\": \"SDP_OFFER\",\n\t\"RecipientClientId\": \"ProducerMaster\",\n\t\"MessagePayload\": \"" + b64 + "\",\n" +
				"\t\"IceServerList\": [{\"Password\": \"pw\", \"Ttl\": 300, \"Uris\": [\"turn:192.0.2.1:443?transport=udp\"], \"Username\": \"u\"}]\n}\n",
			want: wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: b64, RecipientClientID: "ProducerMaster"},
		},
		{
			name:  "unpadded payload",
			frame: `{"action":"SDP_OFFER","messagePayload":"YWJj","x":1}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YWJj"},
		},
		{
			name:  "unpadded payload of length 2 mod 4",
			frame: `{"action":"SDP_OFFER","messagePayload":"YQ"}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YQ"},
		},
		{
			name:  "payload exactly at the limit",
			frame: `{"action":"SDP_OFFER","messagePayload":"` + strings.Repeat("A", wire.MaxPayloadBytes) + `"}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: strings.Repeat("A", wire.MaxPayloadBytes)},
		},
		{
			name:  "null members count as absent",
			frame: `{"action":"SDP_OFFER","messagePayload":"YQ==","recipientClientId":null,"correlationId":null}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YQ=="},
		},
		{
			name:  "ids of 256 characters",
			frame: `{"action":"SDP_OFFER","messagePayload":"YQ==","recipientClientId":"` + strings.Repeat("r", 256) + `","correlationId":"` + strings.Repeat("c", 256) + `"}`,
			want:  wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YQ==", RecipientClientID: strings.Repeat("r", 256), CorrelationID: strings.Repeat("c", 256)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeClientMessage([]byte(tt.frame))
			if err != nil {
				t.Fatalf("DecodeClientMessage: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeClientMessageErrors(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		wantErr  error
		wantText string // part of the error text
		wantCorr string // CorrelationID still returned
	}{
		{"not json", `hello`, wire.ErrMalformedFrame, "not valid json at offset", ""},
		{"empty", ``, wire.ErrMalformedFrame, "not valid json", ""},
		{"truncated", `{"action":"SDP_OFFER"`, wire.ErrMalformedFrame, "not valid json", ""},
		{"array", `[1,2]`, wire.ErrMalformedFrame, "want a json object, got array", ""},
		{"string", `"SDP_OFFER"`, wire.ErrMalformedFrame, "want a json object, got string", ""},
		{"action not a string", `{"action":1,"messagePayload":"YQ=="}`, wire.ErrMalformedFrame, "member action: want string, got number", ""},
		{"payload not a string", `{"action":"SDP_OFFER","messagePayload":{"type":"offer"}}`, wire.ErrMalformedFrame, "member messagePayload", ""},
		{"null frame", `null`, wire.ErrMissingAction, "missing action", ""},
		{"missing action", `{"messagePayload":"YQ==","correlationId":"c1"}`, wire.ErrMissingAction, "missing action", "c1"},
		{"empty action", `{"action":"","messagePayload":"YQ=="}`, wire.ErrMissingAction, "missing action", ""},
		{"unknown action", `{"action":"SDP_PRANSWER","messagePayload":"YQ==","correlationId":"c1"}`, wire.ErrUnknownAction, `unknown action: "SDP_PRANSWER"`, "c1"},
		{"lowercase action", `{"action":"sdp_offer","messagePayload":"YQ=="}`, wire.ErrUnknownAction, `"sdp_offer"`, ""},
		{"service-only action", `{"action":"GO_AWAY","messagePayload":"YQ=="}`, wire.ErrUnknownAction, "GO_AWAY is sent only by the service", ""},
		{"long unknown action is cut", `{"action":"` + strings.Repeat("X", 100) + `","messagePayload":"YQ=="}`, wire.ErrUnknownAction, `XXX"...`, ""},
		{"missing payload", `{"action":"SDP_OFFER","correlationId":"c1"}`, wire.ErrMissingPayload, "missing message payload", "c1"},
		{"payload too large", `{"action":"SDP_OFFER","messagePayload":"` + strings.Repeat("A", wire.MaxPayloadBytes+4) + `","correlationId":"c1"}`, wire.ErrPayloadTooLarge, "10004 bytes, limit 10000", "c1"},
		{"payload not base64", `{"action":"SDP_OFFER","messagePayload":"a b=","correlationId":"c1"}`, wire.ErrInvalidPayload, "byte 1 is outside the standard alphabet", "c1"},
		{"payload url-safe base64", `{"action":"SDP_OFFER","messagePayload":"ab-_"}`, wire.ErrInvalidPayload, "outside the standard alphabet", ""},
		{"payload with newline", `{"action":"SDP_OFFER","messagePayload":"YWJj\nYWJj"}`, wire.ErrInvalidPayload, "outside the standard alphabet", ""},
		{"payload triple padding", `{"action":"SDP_OFFER","messagePayload":"YQ==="}`, wire.ErrInvalidPayload, "too much padding", ""},
		{"payload wrong padding", `{"action":"SDP_OFFER","messagePayload":"YWJ=="}`, wire.ErrInvalidPayload, "wrong padding", ""},
		{"payload padding only", `{"action":"SDP_OFFER","messagePayload":"=="}`, wire.ErrInvalidPayload, "wrong padding", ""},
		{"payload truncated", `{"action":"SDP_OFFER","messagePayload":"YWJjZ"}`, wire.ErrInvalidPayload, "truncated", ""},
		{"payload padding inside", `{"action":"SDP_OFFER","messagePayload":"YQ==YQ=="}`, wire.ErrInvalidPayload, "outside the standard alphabet", ""},
		{"recipient bad character", `{"action":"SDP_OFFER","messagePayload":"YQ==","recipientClientId":"a b","correlationId":"c1"}`, wire.ErrInvalidID, "recipientClientId has a character outside [a-zA-Z0-9_.-] at offset 1", "c1"},
		{"recipient too long", `{"action":"SDP_OFFER","messagePayload":"YQ==","recipientClientId":"` + strings.Repeat("a", 257) + `"}`, wire.ErrInvalidID, "recipientClientId has 257 characters, limit 256", ""},
		{"recipient non-ascii", `{"action":"SDP_OFFER","messagePayload":"YQ==","RecipientClientId":"viewé"}`, wire.ErrInvalidID, "recipientClientId", ""},
		{"correlation bad character", `{"action":"SDP_OFFER","messagePayload":"YQ==","correlationId":"a/b"}`, wire.ErrInvalidID, "correlationId has a character outside", ""},
		{"correlation too long", `{"action":"SDP_OFFER","messagePayload":"YQ==","CorrelationId":"` + strings.Repeat("a", 257) + `"}`, wire.ErrInvalidID, "correlationId has 257 characters", ""},
		{"first error wins, correlation last", `{"messagePayload":"YQ==","correlationId":"a/b"}`, wire.ErrMissingAction, "missing action", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeClientMessage([]byte(tt.frame))
			if err == nil {
				t.Fatalf("DecodeClientMessage = %+v, nil; want error %v", got, tt.wantErr)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if !strings.HasPrefix(err.Error(), "decode client message: ") {
				t.Errorf("error %q lacks context", err)
			}
			if got.CorrelationID != tt.wantCorr {
				t.Errorf("CorrelationID = %q, want %q", got.CorrelationID, tt.wantCorr)
			}
		})
	}
}

func TestDecodeClientMessageErrorHidesPayload(t *testing.T) {
	secret := "a=ice-pwd:s3cr3tIcePassword"
	frames := []string{
		`{"action":"SDP_OFFER","messagePayload":"` + secret + `"}`,
		`{"action":"SDP_OFFER","messagePayload":"` + secret + strings.Repeat("A", wire.MaxPayloadBytes) + `"}`,
		`{"action":"BAD","messagePayload":"` + secret + `"}`,
		`{"action":"SDP_OFFER","messagePayload":"` + secret,
	}
	for _, f := range frames {
		_, err := wire.DecodeClientMessage([]byte(f))
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("DecodeClientMessage(%.40q...) error = %v; want an error without the payload", f, err)
		}
	}
}

func TestEncodeClientMessage(t *testing.T) {
	tests := []struct {
		name string
		m    wire.ClientMessage
		want string
	}{
		{
			name: "all members in js order",
			m:    wire.ClientMessage{Action: wire.ActionSDPAnswer, MessagePayload: "YQ==", RecipientClientID: "viewer-1", CorrelationID: "42"},
			want: `{"action":"SDP_ANSWER","messagePayload":"YQ==","recipientClientId":"viewer-1","correlationId":"42"}`,
		},
		{
			name: "viewer candidate leaves out empty members",
			m:    wire.ClientMessage{Action: wire.ActionICECandidate, MessagePayload: "YQ"},
			want: `{"action":"ICE_CANDIDATE","messagePayload":"YQ"}`,
		},
		{
			name: "offer with correlation only",
			m:    wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YQ==", CorrelationID: "c"},
			want: `{"action":"SDP_OFFER","messagePayload":"YQ==","correlationId":"c"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.EncodeClientMessage(tt.m)
			if err != nil {
				t.Fatalf("EncodeClientMessage: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			back, err := wire.DecodeClientMessage(got)
			if err != nil || back != tt.m {
				t.Errorf("round trip = %+v, %v; want %+v", back, err, tt.m)
			}
		})
	}
}

func TestEncodeClientMessageErrors(t *testing.T) {
	tests := []struct {
		name    string
		m       wire.ClientMessage
		wantErr error
	}{
		{"no action", wire.ClientMessage{MessagePayload: "YQ=="}, wire.ErrMissingAction},
		{"bad action", wire.ClientMessage{Action: wire.Action(99), MessagePayload: "YQ=="}, wire.ErrUnknownAction},
		{"no payload", wire.ClientMessage{Action: wire.ActionSDPOffer}, wire.ErrMissingPayload},
		{"payload not base64", wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: `"}`}, wire.ErrInvalidPayload},
		{"payload too large", wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: strings.Repeat("A", wire.MaxPayloadBytes+1)}, wire.ErrPayloadTooLarge},
		{"bad recipient", wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YQ==", RecipientClientID: `a"b`}, wire.ErrInvalidID},
		{"bad correlation", wire.ClientMessage{Action: wire.ActionSDPOffer, MessagePayload: "YQ==", CorrelationID: strings.Repeat("c", 257)}, wire.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wire.EncodeClientMessage(tt.m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EncodeClientMessage = %s, %v; want %v", b, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "encode client message: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}
