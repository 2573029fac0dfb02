package session_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/session"
)

// profileProbe is viewer.js's dataChannelLatencyCalcMessage.
type profileProbe struct {
	Content                   string `json:"content"`
	FirstMessageFromViewerTs  string `json:"firstMessageFromViewerTs"`
	FirstMessageFromMasterTs  string `json:"firstMessageFromMasterTs"`
	SecondMessageFromViewerTs string `json:"secondMessageFromViewerTs"`
	SecondMessageFromMasterTs string `json:"secondMessageFromMasterTs"`
	LastMessageFromViewerTs   string `json:"lastMessageFromViewerTs"`
}

// TestProfilingReplies plays the JS SDK sample page's viewer side of the
// data-channel profiling exchange (examples/viewer.js, "Profile timeline")
// against a master with ProfilingReplies: the probe when the channel opens,
// the viewer's next timestamp on every reply, until the master sends its
// signaling, peer-connection and ICE-gathering timings, which are checked
// for presence, order and range.
func TestProfilingReplies(t *testing.T) {
	v := newEnv(t, "profiling")
	liveMaster(t, v, func(o *session.MasterOptions) { o.ProfilingReplies = true })
	start := time.Now().UnixMilli()
	now := func() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

	var mu sync.Mutex
	var replies []profileProbe
	timings := map[string]map[string]int64{}
	done := make(chan struct{})
	var doneOnce sync.Once
	var vw *session.Viewer
	vopts := session.ViewerOptions{Options: v.options(), ClientID: "js-page"}
	vopts.OnDataChannelOpen = func(string) {
		b, _ := json.Marshal(profileProbe{Content: "Opened data channel by viewer", FirstMessageFromViewerTs: now()})
		if err := vw.SendText(string(b)); err != nil {
			t.Errorf("send probe: %v", err)
		}
	}
	vopts.OnMessage = func(_ string, m session.DataMessage) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(m.Data, &keys); err != nil {
			t.Errorf("master sent non-JSON %q", m.Data)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := keys["firstMessageFromViewerTs"]; ok {
			var p profileProbe
			if err := json.Unmarshal(m.Data, &p); err != nil {
				t.Errorf("probe reply %s: %v", m.Data, err)
				return
			}
			replies = append(replies, p)
			switch {
			case p.SecondMessageFromViewerTs == "":
				p.SecondMessageFromViewerTs = now()
			case p.LastMessageFromViewerTs == "":
				p.LastMessageFromViewerTs = now()
			}
			p.Content = "Message from JS viewer"
			b, _ := json.Marshal(p)
			if err := m.ReplyText(string(b)); err != nil {
				t.Errorf("reply: %v", err)
			}
			return
		}
		var nums map[string]int64
		if err := json.Unmarshal(m.Data, &nums); err != nil {
			t.Errorf("timing message %s: %v", m.Data, err)
			return
		}
		for _, k := range []string{"signalingStartTime", "peerConnectionStartTime", "candidateGatheringStartTime"} {
			if _, ok := nums[k]; ok {
				timings[k] = nums
			}
		}
		if len(timings) == 3 {
			doneOnce.Do(func() { close(done) })
		}
	}
	vw, err := session.NewViewer(vopts)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- vw.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		t.Fatalf("viewer ended: %v", err)
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("no timings from the master; replies %+v, timings %v", replies, timings)
	}
	vw.Close()
	<-errc
	end := time.Now().UnixMilli()

	mu.Lock()
	defer mu.Unlock()
	if len(replies) != 2 {
		t.Fatalf("%d probe replies before the timings, want 2: %+v", len(replies), replies)
	}
	for i, r := range replies {
		if r.Content != "This message is from the KVS Master" {
			t.Errorf("reply %d content %q", i, r.Content)
		}
	}
	ms := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	if f, s := ms(replies[1].FirstMessageFromMasterTs), ms(replies[1].SecondMessageFromMasterTs); f == 0 || s < f || replies[0].SecondMessageFromMasterTs != "" {
		t.Errorf("master timestamps %+v", replies)
	}
	sig, pc, ice := timings["signalingStartTime"], timings["peerConnectionStartTime"], timings["candidateGatheringStartTime"]
	ordered := [][2]string{{"signalingStartTime", "signalingEndTime"}, {"signalingEndTime", "offerReceiptTime"}, {"offerReceiptTime", "sendAnswerTime"},
		{"getSignalingChannelEndpointStartTime", "getSignalingChannelEndpointEndTime"}, {"getIceServerConfigStartTime", "getIceServerConfigEndTime"},
		{"connectStartTime", "connectEndTime"}, {"getSignalingChannelEndpointEndTime", "connectEndTime"}}
	for _, o := range ordered {
		if a, b := sig[o[0]], sig[o[1]]; a == 0 || b < a {
			t.Errorf("%s %d, %s %d: want both, in order", o[0], a, o[1], b)
		}
	}
	if a, b := pc["peerConnectionStartTime"], pc["peerConnectionEndTime"]; a == 0 || b < a || b < sig["offerReceiptTime"] {
		t.Errorf("peer connection %d → %d", a, b)
	}
	if a, b := ice["candidateGatheringStartTime"], ice["candidateGatheringEndTime"]; a == 0 || b < a {
		t.Errorf("candidate gathering %d → %d", a, b)
	}
	for k, v := range sig {
		if v != 0 && (v < start-60_000 || v > end) { // the master started before the test's clock read, by less than a minute
			t.Errorf("%s %d outside the test's time range", k, v)
		}
		if strings.HasPrefix(k, "createChannel") && v != 0 {
			t.Errorf("%s %d, but the master created no channel", k, v)
		}
	}
}
