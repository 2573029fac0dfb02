package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status int

// Statuses. The zero value is StatusUnknown.
const (
	StatusUnknown Status = iota
	StatusPass           // ✓
	StatusFail           // ✗
	StatusSkip           // –: not run, because an earlier step failed or the options leave it out
)

// String returns "pass", "fail", "skip" or "unknown".
func (s Status) String() string {
	switch s {
	case StatusPass:
		return "pass"
	case StatusFail:
		return "fail"
	case StatusSkip:
		return "skip"
	}
	return "unknown"
}

// Symbol returns ✓, ✗ or –.
func (s Status) Symbol() string {
	switch s {
	case StatusPass:
		return "✓"
	case StatusFail:
		return "✗"
	}
	return "–"
}

// MarshalText writes String.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (s *Status) UnmarshalText(b []byte) error {
	switch string(b) {
	case "pass":
		*s = StatusPass
	case "fail":
		*s = StatusFail
	case "skip":
		*s = StatusSkip
	case "unknown":
		*s = StatusUnknown
	default:
		return fmt.Errorf("doctor status %q: want pass, fail, skip or unknown", b)
	}
	return nil
}

// Step is what a check examines. Several checks may share a step (one per
// TURN URI, one media probe per transport); the exit code of `kvsrtc
// doctor` names the step of the first failing check.
type Step string

// Steps, in the order they run.
const (
	StepCredentials Step = "credentials"     // source, expiry, accepted by the service
	StepClock       Step = "clock"           // offset against the service's Date
	StepARN         Step = "arn"             // partition, region, ARN shape
	StepDescribe    Step = "describeChannel" // DescribeSignalingChannel
	StepEndpoints   Step = "getEndpoint"     // GetSignalingChannelEndpoint, WSS and HTTPS
	StepICEConfig   Step = "getIceConfig"    // GetIceServerConfig
	StepConnect     Step = "connect"         // the WSS upgrade (ConnectAsMaster / ConnectAsViewer)
	StepSTUN        Step = "stun"            // a STUN binding: the server-reflexive address
	StepTURN        Step = "turn"            // a TURN allocation per URI
	StepPeer        Step = "peer"            // viewer: a master answers the offer; master: a viewer joins
	StepMedia       Step = "media"           // first frame over the host path and each relay transport
)

// Steps lists every step in order.
var Steps = []Step{StepCredentials, StepClock, StepARN, StepDescribe, StepEndpoints, StepICEConfig,
	StepConnect, StepSTUN, StepTURN, StepPeer, StepMedia}

// Check is one line of the report.
type Check struct {
	// Step is what is checked; Name tells checks of one step apart (e.g.
	// "turn udp 127.0.0.1:3478").
	Step Step   `json:"step"`
	Name string `json:"name"`
	// Metric is the official C SDK's name for the same phase, if it has
	// one (spec §12), so numbers compare like with like.
	Metric string `json:"metric,omitempty"`
	Status Status `json:"status"`
	// StartMs and EndMs are milliseconds since the report's start; Ms is
	// EndMs − StartMs. Checks that ran side by side overlap.
	StartMs float64 `json:"startMs"`
	EndMs   float64 `json:"endMs"`
	Ms      float64 `json:"ms"`
	// Detail is what was found (e.g. "3 servers, Ttl 300 s").
	Detail string `json:"detail,omitempty"`
	// Error is why the check failed or was skipped.
	Error string `json:"error,omitempty"`
	// Fix is, on a failure, what to do about it in one sentence.
	Fix string `json:"fix,omitempty"`
}

// Report is the result of [Run].
type Report struct {
	// Channel is the channel ARN checked (corrected, if the one given had
	// the wrong partition), or the name when no ARN was found.
	Channel string `json:"channel"`
	// Role is MASTER or VIEWER.
	Role string `json:"role"`
	// Region is the channel's region.
	Region string `json:"region"`
	// Start is when the run began; check times count from it.
	Start time.Time `json:"start"`
	// Checks are in the order they ran.
	Checks []Check `json:"checks"`
	// FirstFailure is the step of the first failing check, or "".
	FirstFailure Step `json:"firstFailure,omitempty"`
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.FirstFailure == "" }

// Failed returns the failing checks.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			out = append(out, c)
		}
	}
	return out
}

// Check returns the first check named name.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteLine writes one check for people: "✓ name   12 ms  detail", then,
// on a failure, the error and the fix on lines of their own; a skipped
// check says why on its line.
func WriteLine(w io.Writer, c Check) error {
	var b strings.Builder
	if c.Status == StatusSkip || c.Status == StatusUnknown {
		fmt.Fprintf(&b, "%s %-28s %7s     skipped: %s\n", c.Status.Symbol(), c.Name, "", c.Error)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "%s %-28s %7.0f ms", c.Status.Symbol(), c.Name, c.Ms)
	if c.Detail != "" {
		b.WriteString("  " + c.Detail)
	}
	b.WriteByte('\n')
	if c.Error != "" {
		fmt.Fprintf(&b, "    %s\n", c.Error)
	}
	if c.Fix != "" {
		fmt.Fprintf(&b, "    fix: %s\n", c.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTo writes the report for people: a header, one line per check and a
// summary.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "kvsrtc doctor: %s as %s in %s\n", r.Channel, r.Role, r.Region)
	for _, c := range r.Checks {
		_ = WriteLine(&b, c)
	}
	b.WriteString(r.Summary() + "\n")
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Summary is the last line of the human report.
func (r *Report) Summary() string {
	var pass, fail, skip int
	for _, c := range r.Checks {
		switch c.Status {
		case StatusPass:
			pass++
		case StatusFail:
			fail++
		default:
			skip++
		}
	}
	if fail == 0 {
		return fmt.Sprintf("all %d checks passed (%d skipped)", pass, skip)
	}
	return fmt.Sprintf("%d failed, %d passed, %d skipped; first failing step: %s", fail, pass, skip, r.FirstFailure)
}
