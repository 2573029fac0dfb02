package session

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/wire"
)

// sdpCandidate is one a=candidate line: the fields that decide whether it
// adds a path (RFC 8445 §5.1.1.1 candidate attribute grammar, §15.1).
type sdpCandidate struct {
	line      string // the attribute value, "candidate:…"
	component string
	proto     string
	addr      string
	port      string
	typ       string
	raddr     string
	rport     string
}

func parseCandidateLine(value string) (sdpCandidate, bool) {
	f := strings.Fields(value)
	if len(f) < 8 || f[6] != "typ" {
		return sdpCandidate{}, false
	}
	c := sdpCandidate{line: value, component: f[1], proto: strings.ToLower(f[2]), addr: f[4], port: f[5], typ: f[7]}
	for i := 8; i+1 < len(f); i += 2 {
		switch f[i] {
		case "raddr":
			c.raddr = f[i+1]
		case "rport":
			c.rport = f[i+1]
		}
	}
	return c, true
}

// pruneCandidates drops the candidate lines of a complete SDP that add no
// path: RTCP (component 2) candidates when RTP and RTCP are multiplexed
// (a=rtcp-mux, which every KVS client sends and WebRTC requires; pion
// writes both components), a server-reflexive candidate at the address of
// a host candidate (no NAT between the peer and the STUN server: RFC 8445
// §5.1.3 removes such redundant candidates), and a candidate whose
// transport address an earlier one already has (the same relay allocated
// through two URLs of one server).
func pruneCandidates(s string) string {
	lines := strings.SplitAfter(s, "\n")
	mux := strings.Contains(s, "a=rtcp-mux")
	hostIPs := map[string]bool{}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r\n"), "a="); ok {
			if c, ok := parseCandidateLine(v); ok && c.typ == "host" {
				hostIPs[c.proto+" "+c.addr] = true
			}
		}
	}
	seen := map[string]bool{}
	var b strings.Builder
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			clear(seen) // transport addresses are per m-section
		}
		v, ok := strings.CutPrefix(strings.TrimRight(l, "\r\n"), "a=")
		c, isCand := parseCandidateLine(v)
		if !ok || !isCand {
			b.WriteString(l)
			continue
		}
		key := c.component + " " + c.proto + " " + c.addr + " " + c.port
		switch {
		case mux && c.component != "1":
		case c.typ == "srflx" && (hostIPs[c.proto+" "+c.addr] || c.addr == c.raddr && c.port == c.rport):
		case seen[key]:
		default:
			seen[key] = true
			b.WriteString(l)
		}
	}
	return b.String()
}

// candidatesOf returns the candidates of a complete SDP as trickle
// messages carry them, and the SDP without them.
func candidatesOf(s string) (rest string, cands []webrtc.ICECandidateInit) {
	var b strings.Builder
	mid, index := "", -1
	for _, l := range strings.SplitAfter(s, "\n") {
		t := strings.TrimRight(l, "\r\n")
		switch {
		case strings.HasPrefix(t, "m="):
			index++
			mid = ""
		case strings.HasPrefix(t, "a=mid:"):
			mid = strings.TrimPrefix(t, "a=mid:")
			for i := range cands { // the candidates of this section that came before its a=mid
				if *cands[i].SDPMid == "" && int(*cands[i].SDPMLineIndex) == index {
					m := mid
					cands[i].SDPMid = &m
				}
			}
		case strings.HasPrefix(t, "a=candidate:"):
			m, i := mid, uint16(max(index, 0))
			cands = append(cands, webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(t, "a="), SDPMid: &m, SDPMLineIndex: &i})
			continue
		case t == "a=end-of-candidates":
			continue
		}
		b.WriteString(l)
	}
	return b.String(), cands
}

// fitComplete makes a complete SDP fit the signaling payload limit
// (wire.MaxPayloadBytes of base64): first without redundant candidates
// (pruneCandidates); if it still does not fit, without any, which are then
// returned to be trickled. size is the pruned SDP's payload size.
func fitComplete(sd wire.SessionDescription) (out wire.SessionDescription, trickle []webrtc.ICECandidateInit, size int) {
	sd.SDP = pruneCandidates(sd.SDP)
	size = payloadSize(sd)
	if size <= wire.MaxPayloadBytes {
		return sd, nil, size
	}
	rest, cands := candidatesOf(sd.SDP)
	return wire.SessionDescription{Type: sd.Type, SDP: announceTrickle(rest)}, cands, size
}

// announceTrickle adds a=ice-options:trickle at session level (after the
// t= line) unless s has it: the candidates come trickled, and a C SDK peer
// trickles its own only to a peer that announces it.
func announceTrickle(s string) string {
	if strings.Contains(s, "a=ice-options:") {
		return s
	}
	i := strings.Index(s, "\nt=")
	if i < 0 {
		return s
	}
	j := strings.Index(s[i+1:], "\n")
	if j < 0 {
		return s
	}
	at := i + 1 + j + 1
	return s[:at] + "a=ice-options:trickle\r\n" + s[at:]
}

// payloadSize is the base64 size of sd as a signaling payload.
func payloadSize(sd wire.SessionDescription) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // as wire.EncodePayload encodes it
	enc.SetEscapeHTML(false)
	_ = enc.Encode(sd)
	return base64.StdEncoding.EncodedLen(len(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})))
}
