package wire_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

func ptr[T any](v T) *T { return &v }

func TestEncodeServerMessage(t *testing.T) {
	tests := []struct {
		name string
		m    wire.ServerMessage
		want string
	}{
		{
			name: "go away",
			m:    wire.ServerMessage{MessageType: wire.MessageTypeGoAway},
			want: `{"messageType":"GO_AWAY"}`,
		},
		{
			name: "reconnect ice server",
			m:    wire.ServerMessage{MessageType: wire.MessageTypeReconnectICEServer},
			want: `{"messageType":"RECONNECT_ICE_SERVER"}`,
		},
		{
			// §13: the frame a master receives, keys alphabetical.
			name: "ice candidate from a viewer",
			m:    wire.ServerMessage{MessageType: wire.MessageTypeICECandidate, SenderClientID: "ConsumerViewer", MessagePayload: b64},
			want: `{"messagePayload":"` + b64 + `","messageType":"ICE_CANDIDATE","senderClientId":"ConsumerViewer"}`,
		},
		{
			name: "answer to a viewer has no sender",
			m:    wire.ServerMessage{MessageType: wire.MessageTypeSDPAnswer, MessagePayload: "YQ"},
			want: `{"messagePayload":"YQ","messageType":"SDP_ANSWER"}`,
		},
		{
			// §4.5: byte-for-byte the JavaScript SDK's fixture.
			name: "status response as in the js fixture",
			m: wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{
				CorrelationID: "1697058567743", ErrorType: "InvalidArgumentException", StatusCode: "400", Success: ptr(false),
			}},
			want: `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"1697058567743","errorType":"InvalidArgumentException","statusCode":"400","success":false}}`,
		},
		{
			name: "status response with an escaped description",
			m: wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{
				CorrelationID: "c1", ErrorType: "InvalidArgumentException", StatusCode: "400",
				Description: "payload \"too\" large\n\t\\ é \x01 \xff \u2028",
			}},
			want: `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c1","description":"payload \"too\" large\n\t\\ é \u0001 \ufffd \u2028","errorType":"InvalidArgumentException","statusCode":"400"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.EncodeServerMessage(tt.m)
			if err != nil {
				t.Fatalf("EncodeServerMessage: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			back, err := wire.DecodeServerMessage(got)
			if err != nil {
				t.Fatalf("DecodeServerMessage: %v", err)
			}
			want := tt.m
			if s := tt.m.StatusResponse; s != nil {
				// Invalid UTF-8 comes back as U+FFFD.
				want.StatusResponse = ptr(*s)
				want.StatusResponse.Description = strings.ToValidUTF8(s.Description, "\ufffd")
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("round trip = %+v, want %+v", back, want)
			}
		})
	}
}

func TestEncodeServerMessageErrors(t *testing.T) {
	tests := []struct {
		name    string
		m       wire.ServerMessage
		wantErr error
	}{
		{"no type", wire.ServerMessage{}, wire.ErrMissingMessageType},
		{"bad type", wire.ServerMessage{MessageType: wire.MessageType(42)}, wire.ErrUnknownMessageType},
		{"payload not base64", wire.ServerMessage{MessageType: wire.MessageTypeSDPOffer, MessagePayload: `x"y`}, wire.ErrInvalidPayload},
		{"payload too large", wire.ServerMessage{MessageType: wire.MessageTypeSDPOffer, MessagePayload: strings.Repeat("A", wire.MaxPayloadBytes+1)}, wire.ErrPayloadTooLarge},
		{"bad sender", wire.ServerMessage{MessageType: wire.MessageTypeSDPOffer, MessagePayload: "YQ==", SenderClientID: "a b"}, wire.ErrInvalidID},
		{"status without correlation", wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{StatusCode: "400"}}, wire.ErrInvalidID},
		{"status code not digits", wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{CorrelationID: "c", StatusCode: "4 0"}}, wire.ErrInvalidStatusResponse},
		{"description too long", wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{CorrelationID: "c", Description: strings.Repeat("d", wire.MaxDescriptionLength+1)}}, wire.ErrInvalidStatusResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wire.EncodeServerMessage(tt.m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EncodeServerMessage = %s, %v; want %v", b, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "encode server message: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestDecodeServerMessage(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  wire.ServerMessage
	}{
		{
			name:  "offer to the master, c sdk log shape",
			frame: `{"messagePayload":"` + b64 + `","messageType":"SDP_OFFER","senderClientId":"viewer-1"}`,
			want:  wire.ServerMessage{MessageType: wire.MessageTypeSDPOffer, SenderClientID: "viewer-1", MessagePayload: b64},
		},
		{
			name:  "documented order with spaces",
			frame: `{ "senderClientId": "v", "messageType": "ICE_CANDIDATE", "messagePayload": "YQ" }`,
			want:  wire.ServerMessage{MessageType: wire.MessageTypeICECandidate, SenderClientID: "v", MessagePayload: "YQ"},
		},
		{
			name:  "go away",
			frame: `{"messageType":"GO_AWAY"}`,
			want:  wire.ServerMessage{MessageType: wire.MessageTypeGoAway},
		},
		{
			name:  "js fixture status response",
			frame: `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"1697058567743","errorType":"InvalidArgumentException","statusCode":"400","success":false}}`,
			want: wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{
				CorrelationID: "1697058567743", ErrorType: "InvalidArgumentException", StatusCode: "400", Success: ptr(false),
			}},
		},
		{
			name:  "documented status response with numeric code and description",
			frame: `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c","errorType":"E","statusCode":400,"description":"d"},"future":[1]}`,
			want: wire.ServerMessage{MessageType: wire.MessageTypeStatusResponse, StatusResponse: &wire.StatusResponse{
				CorrelationID: "c", ErrorType: "E", StatusCode: "400", Description: "d",
			}},
		},
		{
			name:  "null members",
			frame: `{"messageType":"RECONNECT_ICE_SERVER","senderClientId":null,"messagePayload":null,"statusResponse":null}`,
			want:  wire.ServerMessage{MessageType: wire.MessageTypeReconnectICEServer},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeServerMessage([]byte(tt.frame))
			if err != nil {
				t.Fatalf("DecodeServerMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeServerMessageErrors(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		wantErr  error
		wantText string
	}{
		{"not json", `GO_AWAY`, wire.ErrMalformedFrame, "not valid json"},
		{"empty frame", ``, wire.ErrMalformedFrame, "not valid json"},
		{"array", `[]`, wire.ErrMalformedFrame, "want a json object, got array"},
		{"type not a string", `{"messageType":7}`, wire.ErrMalformedFrame, "member messageType"},
		{"status not an object", `{"messageType":"STATUS_RESPONSE","statusResponse":"x"}`, wire.ErrMalformedFrame, "member statusResponse"},
		{"status code bool", `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c","statusCode":true}}`, wire.ErrMalformedFrame, "statusCode: want a string or number"},
		{"success not bool", `{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"c","success":"no"}}`, wire.ErrMalformedFrame, "success"},
		{"missing type", `{"messagePayload":"YQ=="}`, wire.ErrMissingMessageType, "missing message type"},
		{"empty object", `{}`, wire.ErrMissingMessageType, "missing message type"},
		{"unknown type", `{"messageType":"NEW_THING"}`, wire.ErrUnknownMessageType, `unknown message type: "NEW_THING"`},
		{"payload not base64", `{"messageType":"SDP_OFFER","messagePayload":"%%%"}`, wire.ErrInvalidPayload, "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.DecodeServerMessage([]byte(tt.frame))
			if err == nil {
				t.Fatalf("DecodeServerMessage = %+v, nil; want error", got)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if !strings.HasPrefix(err.Error(), "decode server message: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestDecodeServerMessageUnknownTypeKeepsMembers(t *testing.T) {
	got, err := wire.DecodeServerMessage([]byte(`{"messageType":"NEW_THING","senderClientId":"v","messagePayload":"YQ=="}`))
	if !errors.Is(err, wire.ErrUnknownMessageType) {
		t.Fatalf("err = %v", err)
	}
	want := wire.ServerMessage{SenderClientID: "v", MessagePayload: "YQ=="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestRelay is what the emulator does: decode a client's frame and relay its
// payload untouched to the recipient.
func TestRelay(t *testing.T) {
	in := "{\n\t\"action\": \"ICE_CANDIDATE\",\n\t\"RecipientClientId\": \"\",\n\t\"MessagePayload\": \"YWJj\"\n}"
	cm, err := wire.DecodeClientMessage([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := wire.EncodeServerMessage(wire.ServerMessage{MessageType: cm.Action.MessageType(), SenderClientID: "viewer-7", MessagePayload: cm.MessagePayload})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"messagePayload":"YWJj","messageType":"ICE_CANDIDATE","senderClientId":"viewer-7"}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
}
