package wire_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

func TestActionNames(t *testing.T) {
	for _, a := range []wire.Action{wire.ActionSDPOffer, wire.ActionSDPAnswer, wire.ActionICECandidate} {
		got, err := wire.ParseAction(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a.String(), got, err)
		}
		if a.MessageType().String() != a.String() {
			t.Errorf("%v.MessageType() = %v", a, a.MessageType())
		}
	}
	if s := wire.ActionUnknown.String(); s != "Unknown" {
		t.Errorf("ActionUnknown.String() = %q", s)
	}
	if s := wire.Action(99).String(); s != "Unknown" {
		t.Errorf("Action(99).String() = %q", s)
	}
	if mt := wire.ActionUnknown.MessageType(); mt != wire.MessageTypeUnknown {
		t.Errorf("ActionUnknown.MessageType() = %v", mt)
	}
}

func TestMessageTypeNames(t *testing.T) {
	all := map[wire.MessageType]string{
		wire.MessageTypeSDPOffer:           "SDP_OFFER",
		wire.MessageTypeSDPAnswer:          "SDP_ANSWER",
		wire.MessageTypeICECandidate:       "ICE_CANDIDATE",
		wire.MessageTypeGoAway:             "GO_AWAY",
		wire.MessageTypeReconnectICEServer: "RECONNECT_ICE_SERVER",
		wire.MessageTypeStatusResponse:     "STATUS_RESPONSE",
		wire.MessageTypeUnknown:            "Unknown",
		wire.MessageType(99):               "Unknown",
	}
	for mt, name := range all {
		if mt.String() != name {
			t.Errorf("%d.String() = %q, want %q", int(mt), mt.String(), name)
		}
		if name == "Unknown" {
			continue
		}
		got, err := wire.ParseMessageType(name)
		if err != nil || got != mt {
			t.Errorf("ParseMessageType(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := wire.ParseMessageType("go_away"); !errors.Is(err, wire.ErrUnknownMessageType) {
		t.Errorf("ParseMessageType(go_away) err = %v", err)
	}
}

func TestEnumText(t *testing.T) {
	type doc struct {
		A wire.Action      `json:"a"`
		T wire.MessageType `json:"t"`
	}
	b, err := json.Marshal(doc{wire.ActionICECandidate, wire.MessageTypeGoAway})
	if err != nil || string(b) != `{"a":"ICE_CANDIDATE","t":"GO_AWAY"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d doc
	if err := json.Unmarshal(b, &d); err != nil || d.A != wire.ActionICECandidate || d.T != wire.MessageTypeGoAway {
		t.Errorf("Unmarshal = %+v, %v", d, err)
	}
	if _, err := json.Marshal(doc{}); !errors.Is(err, wire.ErrUnknownAction) {
		t.Errorf("Marshal(zero) err = %v, want ErrUnknownAction", err)
	}
	if _, err := json.Marshal(doc{A: wire.ActionSDPOffer}); !errors.Is(err, wire.ErrUnknownMessageType) {
		t.Errorf("Marshal(zero type) err = %v, want ErrUnknownMessageType", err)
	}
	if err := json.Unmarshal([]byte(`{"a":"RECONNECT_ICE_SERVER"}`), &d); !errors.Is(err, wire.ErrUnknownAction) {
		t.Errorf("Unmarshal(service type as action) err = %v", err)
	}
	if err := json.Unmarshal([]byte(`{"t":"NOPE"}`), &d); !errors.Is(err, wire.ErrUnknownMessageType) {
		t.Errorf("Unmarshal(bad type) err = %v", err)
	}
}
