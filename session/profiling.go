package session

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// The data-channel profiling exchange of the KVS sample applications. With
// "Profile timeline" on, the JS SDK's sample viewer (examples/viewer.js,
// dataChannelLatencyCalcMessage) sends, when its data channel opens,
//
//	{"content":"Opened data channel by viewer","firstMessageFromViewerTs":"<ms>",
//	 "firstMessageFromMasterTs":"","secondMessageFromViewerTs":"",
//	 "secondMessageFromMasterTs":"","lastMessageFromViewerTs":""}
//
// and the C SDK's sample master (onDataChannelMessage, samples/Common.c, in
// its enableSendingMetricsToViewerViaDc mode) fills in the next empty
// master timestamp and sends the message back; the viewer adds its next
// timestamp each time, and when lastMessageFromViewerTs comes back filled
// the master sends its timings instead: signaling (SIGNALING_CLIENT_METRICS_JSON_TEMPLATE),
// peer connection (PEER_CONNECTION_METRICS_JSON_TEMPLATE) and ICE gathering
// (ICE_AGENT_METRICS_JSON_TEMPLATE, samples/Samples.h), which the page draws
// as the master's spans. Times are milliseconds since the Unix epoch, 0
// for a step that did not happen (a channel that was not created).

// masterProfileContent is the C SDK sample master's content field
// (MASTER_DATA_CHANNEL_MESSAGE).
const masterProfileContent = "This message is from the KVS Master"

// profileProbe is the probe message; field order as viewer.js sends it.
type profileProbe struct {
	Content                   string `json:"content"`
	FirstMessageFromViewerTs  string `json:"firstMessageFromViewerTs"`
	FirstMessageFromMasterTs  string `json:"firstMessageFromMasterTs"`
	SecondMessageFromViewerTs string `json:"secondMessageFromViewerTs"`
	SecondMessageFromMasterTs string `json:"secondMessageFromMasterTs"`
	LastMessageFromViewerTs   string `json:"lastMessageFromViewerTs"`
}

// parseProbe reports whether data is a profiling probe: a JSON object with
// a firstMessageFromViewerTs (what viewer.js itself tests for).
func parseProbe(data []byte) (profileProbe, bool) {
	var keys map[string]json.RawMessage
	if json.Unmarshal(data, &keys) != nil {
		return profileProbe{}, false
	}
	if _, ok := keys["firstMessageFromViewerTs"]; !ok {
		return profileProbe{}, false
	}
	var p profileProbe
	if json.Unmarshal(data, &p) != nil {
		return profileProbe{}, false // a field that is not a string
	}
	return p, true
}

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// profileReplies are the master's answer to probe p at now: the probe
// back with the next master timestamp, or, once the viewer's last
// timestamp is in, the three timing messages.
func (m *Master) profileReplies(mp *masterPeer, p profileProbe, now time.Time) []string {
	ms := fmt.Sprint(now.UnixMilli())
	switch {
	case p.FirstMessageFromMasterTs == "":
		p.FirstMessageFromMasterTs = ms
		p.LastMessageFromViewerTs = "" // the C SDK stops parsing at the field it fills
	case p.SecondMessageFromMasterTs == "":
		p.SecondMessageFromMasterTs = ms
		p.LastMessageFromViewerTs = ""
	case p.LastMessageFromViewerTs != "":
		return m.profileTimings(mp)
	}
	// DATA_CHANNEL_MESSAGE_TEMPLATE, with its space before the brace.
	return []string{fmt.Sprintf(`{"content":%s,"firstMessageFromViewerTs":%s,"firstMessageFromMasterTs":%s,"secondMessageFromViewerTs":%s,"secondMessageFromMasterTs":%s,"lastMessageFromViewerTs":%s }`,
		jsonString(masterProfileContent), jsonString(p.FirstMessageFromViewerTs), jsonString(p.FirstMessageFromMasterTs),
		jsonString(p.SecondMessageFromViewerTs), jsonString(p.SecondMessageFromMasterTs), jsonString(p.LastMessageFromViewerTs))}
}

// span is a step of tl as Unix milliseconds (0, 0 when tl lacks it).
func span(tl *Timeline, step string) (start, end int64) {
	s, ok := tl.Step(step)
	if !ok {
		return 0, 0
	}
	at := func(msOff float64) int64 {
		return tl.Start().Add(time.Duration(msOff * float64(time.Millisecond))).UnixMilli()
	}
	return at(s.StartMs), at(s.EndMs)
}

// profileTimings are the C SDK sample master's three timing messages from
// the master's timeline and the viewer's.
func (m *Master) profileTimings(mp *masterPeer) []string {
	tl := m.Timeline()
	descStart, descEnd := span(tl, StepDescribe)
	createStart, createEnd := span(tl, StepCreateChannel)
	epStart, epEnd := span(tl, StepEndpoints)
	iceStart, iceEnd := span(tl, StepICEServers)
	tokStart, tokEnd := span(tl, StepCredentials)
	connStart, connEnd := span(tl, StepConnect)
	sigStart := tl.Start().UnixMilli() // the C SDK: when the signaling client was created
	for _, t := range []int64{tokStart, descStart, epStart} {
		if t != 0 && t < sigStart {
			sigStart = t
		}
	}
	offer, _ := span(mp.tl, StepOfferReceived)
	_, answer := span(mp.tl, StepAnswer)
	pcStart, _ := span(mp.tl, StepPeerConnection)
	_, pcEnd := span(mp.tl, StepDTLSConnected)
	return []string{
		fmt.Sprintf(`{"signalingStartTime": %d, "signalingEndTime": %d, "offerReceiptTime": %d, "sendAnswerTime": %d, `+
			`"describeChannelStartTime": %d, "describeChannelEndTime": %d, "getSignalingChannelEndpointStartTime": %d, `+
			`"getSignalingChannelEndpointEndTime": %d, "getIceServerConfigStartTime": %d, "getIceServerConfigEndTime": %d, `+
			`"getTokenStartTime": %d, "getTokenEndTime": %d, "createChannelStartTime": %d, "createChannelEndTime": %d, `+
			`"connectStartTime": %d, "connectEndTime": %d }`,
			sigStart, connEnd, offer, answer, descStart, descEnd, epStart, epEnd, iceStart, iceEnd,
			tokStart, tokEnd, createStart, createEnd, connStart, connEnd),
		fmt.Sprintf(`{"peerConnectionStartTime": %d, "peerConnectionEndTime": %d }`, pcStart, pcEnd),
		fmt.Sprintf(`{"candidateGatheringStartTime": %d, "candidateGatheringEndTime": %d }`, mp.gatherStart.Load(), mp.gatherEnd.Load()),
	}
}

// answerProbe is the master's data-channel hook: a profiling probe from
// the viewer gets the C SDK sample master's replies (when
// MasterOptions.ProfilingReplies is set).
func (m *Master) answerProbe(mp *masterPeer) func(*webrtc.DataChannel, webrtc.DataChannelMessage) {
	return func(dc *webrtc.DataChannel, msg webrtc.DataChannelMessage) {
		if !m.opts.ProfilingReplies || !msg.IsString {
			return
		}
		p, ok := parseProbe(msg.Data)
		if !ok {
			return
		}
		for _, r := range m.profileReplies(mp, p, time.Now()) {
			if err := dc.SendText(r); err != nil {
				mp.log.Debug("profiling reply", "err", err)
				return
			}
		}
	}
}

// gathering records when the viewer's ICE gathering starts (now) and ends,
// for the profiling timings; it returns at the end or when done closes.
func (mp *masterPeer) gathering(gathered <-chan struct{}, done <-chan struct{}) {
	mp.gatherStart.Store(time.Now().UnixMilli())
	select {
	case <-gathered:
		mp.gatherEnd.Store(time.Now().UnixMilli())
	case <-done:
	}
}

// gatherTimes are a viewer's ICE gathering start and end, Unix ms.
type gatherTimes struct {
	gatherStart, gatherEnd atomic.Int64
}
