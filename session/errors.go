package session

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
)

// Phase is the step of connection setup a peer failed in.
type Phase int

// Phases. The zero value is PhaseUnknown.
const (
	// PhaseUnknown: not known.
	PhaseUnknown Phase = iota
	// PhaseAnswer: the viewer's offer got no answer (ErrNoAnswer).
	PhaseAnswer
	// PhaseICE: no candidate pair connected, or the connected pair stopped
	// answering.
	PhaseICE
	// PhaseDTLS: ICE connected but the DTLS handshake (or SCTP) failed.
	PhaseDTLS
)

// String returns "unknown", "answer", "ICE" or "DTLS".
func (p Phase) String() string {
	switch p {
	case PhaseAnswer:
		return "answer"
	case PhaseICE:
		return "ICE"
	case PhaseDTLS:
		return "DTLS"
	}
	return "unknown"
}

// PeerError reports a peer connection that could not be set up or failed:
// the phase, the viewer it was with, and the candidate pairs ICE tried.
// Get it with errors.As; errors.Is(err, ErrPeerFailed) holds for the ICE and
// DTLS phases, errors.Is(err, ErrNoAnswer) for the answer phase.
type PeerError struct {
	// Role is the side that reports it (the master or the viewer).
	Role channel.Role
	// ClientID is the viewer's client id (on a viewer, its own).
	ClientID string
	// Channel is the channel's name.
	Channel string
	// Phase is where it failed.
	Phase Phase
	// Pairs are the candidate pairs ICE formed, with their states, when
	// the connection failed.
	Pairs []CandidatePair
	// Err is the cause.
	Err error
}

func (e *PeerError) Error() string {
	var b strings.Builder
	if e.Role == channel.RoleMaster {
		fmt.Fprintf(&b, "peer connection with viewer %s on channel %s", e.ClientID, e.Channel)
	} else {
		fmt.Fprintf(&b, "peer connection to the master of channel %s", e.Channel)
	}
	if e.Phase == PhaseAnswer {
		fmt.Fprintf(&b, ": %v", e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, " failed in %s", e.Phase)
	if e.Phase == PhaseICE {
		if len(e.Pairs) == 0 {
			b.WriteString(": no candidate pair could be formed (do both ends share a network type and reach a STUN or TURN server?)")
		} else {
			fmt.Fprintf(&b, " after %d candidate pairs: ", len(e.Pairs))
			for i, p := range e.Pairs {
				if i == 4 {
					fmt.Fprintf(&b, "; and %d more", len(e.Pairs)-i)
					break
				}
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(p.String())
			}
			b.WriteString(" (check that UDP reaches the peer or the TURN servers; ForceTURN with RelayTransport tcp or tls gets through more firewalls)")
		}
	}
	if e.Err != nil && e.Err != ErrPeerFailed {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *PeerError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPeerFailed) hold for ICE and DTLS failures.
func (e *PeerError) Is(target error) bool {
	return target == ErrPeerFailed && (e.Phase == PhaseICE || e.Phase == PhaseDTLS)
}

// Candidate is one ICE candidate of a pair.
type Candidate struct {
	// Type is host, srflx, prflx or relay.
	Type string
	// Protocol is udp or tcp.
	Protocol string
	// Address and Port are where it receives.
	Address string
	Port    int
	// RelayProtocol is how a relay candidate reaches its TURN server (udp,
	// tcp or tls); empty for others.
	RelayProtocol string
}

// String reads like "relay udp 10.0.0.1:50000 (via tls)".
func (c Candidate) String() string {
	s := c.Type + " " + c.Protocol + " " + netJoin(c.Address, c.Port)
	if c.RelayProtocol != "" {
		s += " (via " + c.RelayProtocol + ")"
	}
	return s
}

func netJoin(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// CandidatePair is a local and a remote candidate ICE checked.
type CandidatePair struct {
	Local, Remote Candidate
	// State is pion's pair state: waiting, in-progress, failed, succeeded.
	State     string
	Nominated bool
	// RequestsSent and ResponsesReceived count connectivity checks.
	RequestsSent, ResponsesReceived uint64
}

// String reads like "host udp 127.0.0.1:5000 → host udp 127.0.0.1:6000
// failed (3 checks, 0 answers)".
func (p CandidatePair) String() string {
	return fmt.Sprintf("%s → %s %s (%d checks, %d answers)", p.Local, p.Remote, p.State, p.RequestsSent, p.ResponsesReceived)
}

// CandidatePairs reads the candidate pairs of pc from its stats: what ICE
// tried, with the local and remote candidates of each. Use it with
// OnPeerConnection or in OnICEConnectionStateChange.
func CandidatePairs(pc *webrtc.PeerConnection) []CandidatePair {
	report := pc.GetStats()
	cands := map[string]Candidate{}
	for _, s := range report {
		switch c := s.(type) {
		case webrtc.ICECandidateStats:
			cands[c.ID] = Candidate{Type: c.CandidateType.String(), Protocol: c.Protocol, Address: c.IP, Port: int(c.Port), RelayProtocol: c.RelayProtocol}
		}
	}
	var pairs []CandidatePair
	for _, s := range report {
		if p, ok := s.(webrtc.ICECandidatePairStats); ok {
			pairs = append(pairs, CandidatePair{Local: cands[p.LocalCandidateID], Remote: cands[p.RemoteCandidateID],
				State: string(p.State), Nominated: p.Nominated, RequestsSent: p.RequestsSent, ResponsesReceived: p.ResponsesReceived})
		}
	}
	return pairs
}

// failure is the error of a peer connection that went to failed: ICE when
// ICE never connected or failed, DTLS when ICE was up.
func (p *peer) failure() error {
	p.mu.Lock()
	ice, role, ch, id := p.iceState, p.role, p.channel, p.id
	p.mu.Unlock()
	phase := PhaseDTLS
	if ice != webrtc.ICEConnectionStateConnected && ice != webrtc.ICEConnectionStateCompleted {
		phase = PhaseICE
	}
	return &PeerError{Role: role, ClientID: id, Channel: ch, Phase: phase, Pairs: CandidatePairs(p.pc), Err: ErrPeerFailed}
}

// noAnswer is Run's error when the offer was not answered in time.
func (v *Viewer) noAnswer() error {
	return &PeerError{Role: channel.RoleViewer, ClientID: v.opts.ClientID, Channel: v.opts.ChannelARN.Name, Phase: PhaseAnswer,
		Err: fmt.Errorf("%w within %v: is a master connected? (a master sending over 5 SDP messages a second also loses answers)",
			ErrNoAnswer, v.opts.AnswerTimeout)}
}
