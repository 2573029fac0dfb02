package wire_test

import (
	"testing"

	"github.com/kvsrtc/kvsrtc/wire"
)

// A typical trickled candidate from the JavaScript SDK.
var benchCandidate, _ = wire.EncodePayload(wire.ICECandidateInit{
	Candidate:        "candidate:842163049 1 udp 1677729535 198.51.100.7 61665 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXWV network-cost 999",
	SDPMid:           ptr("0"),
	SDPMLineIndex:    ptr(uint16(0)),
	UsernameFragment: ptr("sXWV"),
})

func BenchmarkDecodeClientMessage(b *testing.B) {
	frame, err := wire.EncodeClientMessage(wire.ClientMessage{Action: wire.ActionICECandidate, MessagePayload: benchCandidate, RecipientClientID: "ConsumerViewer", CorrelationID: "1697058567743"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := wire.DecodeClientMessage(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeServerMessage(b *testing.B) {
	m := wire.ServerMessage{MessageType: wire.MessageTypeICECandidate, SenderClientID: "ConsumerViewer", MessagePayload: benchCandidate}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCandidate)))
	for b.Loop() {
		if _, err := wire.EncodeServerMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}
