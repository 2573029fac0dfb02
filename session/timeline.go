package session

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"
	"time"
)

// Step names of a connection timeline, in the order they happen on a
// viewer. Where the official C SDK reports the same phase, Metric names it
// (spec §12) so numbers can be compared like with like.
const (
	StepCredentials    = "credentials"     // getTokenCallTime
	StepDescribe       = "describeChannel" // describeCallTime
	StepCreateChannel  = "createChannel"   // createCallTime
	StepEndpoints      = "getEndpoint"     // getEndpointCallTime
	StepICEServers     = "getIceConfig"    // getIceConfigCallTime
	StepConnect        = "connect"         // connectCallTime (WSS open)
	StepPeerConnection = "peerConnection"  // peerConnectionCreationTime
	StepOfferSent      = "offerSent"       // viewer: offer created and sent
	StepOfferReceived  = "offerReceived"   // master: a viewer's offer arrived
	StepAnswer         = "answer"          // offerToAnswerTime
	StepICEConnected   = "iceConnected"    // iceHolePunchingTime
	StepDTLSConnected  = "dtlsConnected"   // dtlsSessionSetupTime
	StepFirstVideo     = "firstVideoFrame" // time to first frame (JS SDK)
	StepFirstAudio     = "firstAudioFrame"
)

// metrics maps step names to the C SDK metric of the same phase.
var metrics = map[string]string{
	StepCredentials:    "getTokenCallTime",
	StepDescribe:       "describeCallTime",
	StepCreateChannel:  "createCallTime",
	StepEndpoints:      "getEndpointCallTime",
	StepICEServers:     "getIceConfigCallTime",
	StepConnect:        "connectCallTime",
	StepPeerConnection: "peerConnectionCreationTime",
	StepAnswer:         "offerToAnswerTime",
	StepICEConnected:   "iceHolePunchingTime",
	StepDTLSConnected:  "dtlsSessionSetupTime",
	StepFirstVideo:     "timeToFirstFrame",
}

// Step is one phase of a connection. Times are milliseconds since the
// timeline's start, so overlapping phases (the WSS connect and
// GetIceServerConfig run side by side) show as overlapping intervals.
type Step struct {
	// Name is one of the Step* constants.
	Name string `json:"name"`
	// Metric is the C SDK's name for the phase, if it has one.
	Metric string `json:"metric,omitempty"`
	// StartMs and EndMs are when the phase began and ended.
	StartMs float64 `json:"startMs"`
	EndMs   float64 `json:"endMs"`
	// Ms is the phase's own duration, EndMs − StartMs.
	Ms float64 `json:"ms"`
}

// Timeline records the steps of one connection. It is safe for concurrent
// use; its JSON is {"start": time, "steps": [Step...]} with steps ordered by
// EndMs.
type Timeline struct {
	mu     sync.Mutex
	start  time.Time
	steps  []Step
	onStep func(Step)
}

// NewTimeline returns an empty timeline whose zero is start (a zero start
// means now).
func NewTimeline(start time.Time) *Timeline {
	if start.IsZero() {
		start = time.Now()
	}
	return &Timeline{start: start}
}

// Start is the timeline's zero.
func (t *Timeline) Start() time.Time { return t.start }

// OnStep sets a function called with each step as it is added, on the
// adding goroutine. It must return quickly.
func (t *Timeline) OnStep(f func(Step)) {
	t.mu.Lock()
	t.onStep = f
	t.mu.Unlock()
}

// Add records a step that ran from from to to. A name already present is
// kept as it was: a timeline reports each phase's first occurrence.
func (t *Timeline) Add(name string, from, to time.Time) Step {
	ms := func(x time.Time) float64 { return float64(x.Sub(t.start).Microseconds()) / 1000 }
	s := Step{Name: name, Metric: metrics[name], StartMs: ms(from), EndMs: ms(to),
		Ms: float64(to.Sub(from).Microseconds()) / 1000}
	t.mu.Lock()
	for _, x := range t.steps {
		if x.Name == name {
			t.mu.Unlock()
			return x
		}
	}
	t.steps = append(t.steps, s)
	f := t.onStep
	t.mu.Unlock()
	if f != nil {
		f(s)
	}
	return s
}

// Mark records a step that began at from and ends now.
func (t *Timeline) Mark(name string, from time.Time) Step { return t.Add(name, from, time.Now()) }

// Has reports whether the step was recorded.
func (t *Timeline) Has(name string) bool {
	_, ok := t.Step(name)
	return ok
}

// Step returns the named step.
func (t *Timeline) Step(name string) (Step, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Steps returns the steps ordered by when they ended.
func (t *Timeline) Steps() []Step {
	t.mu.Lock()
	s := slices.Clone(t.steps)
	t.mu.Unlock()
	slices.SortStableFunc(s, func(a, b Step) int {
		switch {
		case a.EndMs < b.EndMs:
			return -1
		case a.EndMs > b.EndMs:
			return 1
		}
		return 0
	})
	return s
}

type timelineJSON struct {
	Start time.Time `json:"start"`
	Steps []Step    `json:"steps"`
}

// MarshalJSON gives {"start": …, "steps": […]}.
func (t *Timeline) MarshalJSON() ([]byte, error) {
	return json.Marshal(timelineJSON{Start: t.start, Steps: t.Steps()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (t *Timeline) UnmarshalJSON(b []byte) error {
	var j timelineJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t.mu.Lock()
	t.start, t.steps = j.Start, j.Steps
	t.mu.Unlock()
	return nil
}

// WriteTo prints the timeline for people: one line per step with its end
// time since start, its own duration and the C SDK metric it matches.
func (t *Timeline) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tabwriter.NewWriter(cw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tat ms\tstep ms\t\tC SDK metric")
	for _, s := range t.Steps() {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t\t%s\n", s.Name, s.EndMs, s.Ms, s.Metric)
	}
	err := tw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
