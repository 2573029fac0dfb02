package wire_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

func TestEncodePayloadSDP(t *testing.T) {
	sd := wire.SessionDescription{Type: "offer", SDP: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=ice-pwd:x<y>&z\r\n"}
	p, err := wire.EncodePayload(sd)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(p) // padded standard base64
	if err != nil {
		t.Fatalf("payload is not padded standard base64: %v", err)
	}
	if want := `{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=ice-pwd:x<y>&z\r\n"}`; string(raw) != want {
		t.Errorf("payload json = %s, want %s", raw, want)
	}
	got, err := wire.DecodeSDP(p)
	if err != nil || got != sd {
		t.Errorf("DecodeSDP = %+v, %v; want %+v", got, err, sd)
	}
	got, err = wire.DecodeSDP(strings.TrimRight(p, "="))
	if err != nil || got != sd {
		t.Errorf("DecodeSDP(unpadded) = %+v, %v; want %+v", got, err, sd)
	}
}

func TestDecodeSDPCSDKLayout(t *testing.T) {
	// The C SDK writes a space after each colon (§4.6).
	js := "{\"type\": \"answer\", \"sdp\": \"v=0\\r\\ns=-\\r\\n\"}"
	got, err := wire.DecodeSDP(base64.StdEncoding.EncodeToString([]byte(js)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (wire.SessionDescription{Type: "answer", SDP: "v=0\r\ns=-\r\n"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestICECandidateRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		c        wire.ICECandidateInit
		wantJSON string
	}{
		{
			name:     "browser candidate",
			c:        wire.ICECandidateInit{Candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", SDPMid: ptr("0"), SDPMLineIndex: ptr(uint16(0)), UsernameFragment: ptr("abcd")},
			wantJSON: `{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}`,
		},
		{
			name:     "end of candidates",
			c:        wire.ICECandidateInit{Candidate: "", SDPMid: ptr("0")},
			wantJSON: `{"candidate":"","sdpMid":"0"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := wire.EncodePayload(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if raw, _ := base64.StdEncoding.DecodeString(p); string(raw) != tt.wantJSON {
				t.Errorf("json = %s, want %s", raw, tt.wantJSON)
			}
			got, err := wire.DecodeICECandidate(p)
			if err != nil || !reflect.DeepEqual(got, tt.c) {
				t.Errorf("DecodeICECandidate = %+v, %v; want %+v", got, err, tt.c)
			}
		})
	}
}

func TestDecodeICECandidateNulls(t *testing.T) {
	js := `{"candidate":"candidate:1 1 udp 1 192.0.2.1 1 typ host","sdpMid":null,"sdpMLineIndex":1,"usernameFragment":null}`
	got, err := wire.DecodeICECandidate(base64.StdEncoding.EncodeToString([]byte(js)))
	if err != nil {
		t.Fatal(err)
	}
	if got.SDPMid != nil || got.UsernameFragment != nil || got.SDPMLineIndex == nil || *got.SDPMLineIndex != 1 {
		t.Errorf("got %+v", got)
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name     string
		decode   func(string) error
		payload  string
		wantErr  error
		wantText string
	}{
		{"sdp empty", decodeSDP, "", wire.ErrMissingPayload, "missing message payload"},
		{"sdp not base64", decodeSDP, "a=ice-pwd:secret", wire.ErrInvalidPayload, "not base64"},
		{"sdp not json", decodeSDP, enc("a=ice-pwd:secret"), wire.ErrInvalidPayload, "not valid json at offset"},
		{"sdp json array", decodeSDP, enc(`["a=ice-pwd:secret"]`), wire.ErrInvalidPayload, "want a json object, got array"},
		{"sdp type not string", decodeSDP, enc(`{"type":1,"sdp":"a=ice-pwd:secret"}`), wire.ErrInvalidPayload, "member type: want string, got number"},
		{"sdp missing type", decodeSDP, enc(`{"sdp":"a=ice-pwd:secret"}`), wire.ErrInvalidPayload, "missing type"},
		{"ice not json", decodeICE, enc("candidate secret"), wire.ErrInvalidPayload, "not valid json"},
		{"ice index out of range", decodeICE, enc(`{"candidate":"secret","sdpMLineIndex":70000}`), wire.ErrInvalidPayload, "member sdpMLineIndex: want uint16, got number"},
		{"ice index negative", decodeICE, enc(`{"candidate":"secret","sdpMLineIndex":-1}`), wire.ErrInvalidPayload, "sdpMLineIndex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.payload)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the payload", err)
			}
		})
	}
}

func decodeSDP(p string) error { _, err := wire.DecodeSDP(p); return err }
func decodeICE(p string) error { _, err := wire.DecodeICECandidate(p); return err }

func TestEncodePayloadErrors(t *testing.T) {
	big := wire.SessionDescription{Type: "offer", SDP: strings.Repeat("a", 7500)}
	if _, err := wire.EncodePayload(big); !errors.Is(err, wire.ErrPayloadTooLarge) {
		t.Errorf("EncodePayload(big) err = %v, want ErrPayloadTooLarge", err)
	}
	fits := wire.SessionDescription{Type: "offer", SDP: strings.Repeat("a", 7500-len(`{"type":"offer","sdp":""}`))}
	if p, err := wire.EncodePayload(fits); err != nil || len(p) != wire.MaxPayloadBytes {
		t.Errorf("EncodePayload(fits) = %d bytes, %v; want %d bytes", len(p), err, wire.MaxPayloadBytes)
	}
	if _, err := wire.EncodePayload(make(chan int)); err == nil {
		t.Error("EncodePayload(chan) = nil error")
	}
}
