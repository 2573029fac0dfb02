package signaling

import (
	"time"

	"github.com/kvsrtc/kvsrtc/wire"
)

// Message is a frame received from the service. Type tells which: SDP_OFFER,
// SDP_ANSWER and ICE_CANDIDATE from a peer; STATUS_RESPONSE for a failed send
// (match StatusResponse.CorrelationID to the id a Send returned); GO_AWAY and
// RECONNECT_ICE_SERVER, after which the Client reconnects by itself.
type Message struct {
	wire.ServerMessage
	// ReceivedAt is when the frame was read, by Options.Clock.
	ReceivedAt time.Time
}

// FromMaster reports whether a peer message came from the master: the service
// leaves senderClientId out on frames it delivers to viewers (§4.5).
func (m Message) FromMaster() bool { return m.SenderClientID == "" }

// SessionDescription decodes the payload of an SDP_OFFER or SDP_ANSWER.
func (m Message) SessionDescription() (wire.SessionDescription, error) {
	return wire.DecodeSDP(m.MessagePayload)
}

// ICECandidate decodes the payload of an ICE_CANDIDATE.
func (m Message) ICECandidate() (wire.ICECandidateInit, error) {
	return wire.DecodeICECandidate(m.MessagePayload)
}
