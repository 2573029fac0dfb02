package emulator

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// FaultKind names a fault the emulator can inject.
type FaultKind int

// Fault kinds. Delay, Drop, Duplicate and Reorder are rules that act on
// relayed signaling frames until removed or used up; Refuse is a rule for
// the next connects or REST calls; the others happen once, at Inject.
const (
	FaultUnknown      FaultKind = iota
	FaultDelay                  // hold matching frames for Fault.Delay
	FaultDrop                   // discard matching frames
	FaultDuplicate              // deliver matching frames twice
	FaultReorder                // deliver a matching frame after the next one
	FaultGoAway                 // send GO_AWAY now
	FaultClose                  // close connections with 1001 "Going away" now
	FaultReconnectICE           // send RECONNECT_ICE_SERVER now
	FaultExpireTURN             // make every TURN credential issued so far expired
	FaultRefuse                 // refuse the next Count connects or REST calls
	FaultClock                  // move the emulator's clock by Fault.Delay
	FaultKill                   // cut a client's socket without a close frame
)

var faultNames = [...]string{"unknown", "delay", "drop", "duplicate", "reorder", "goaway", "close",
	"reconnect-ice", "expire-turn", "refuse", "clock", "kill"}

// String is the kind's name as the --fault syntax spells it.
func (k FaultKind) String() string {
	if k < 0 || int(k) >= len(faultNames) {
		return "unknown"
	}
	return faultNames[k]
}

// frameFault reports whether k acts on relayed frames.
func (k FaultKind) frameFault() bool { return k >= FaultDelay && k <= FaultReorder }

// Direction is which way a signaling frame goes through the relay.
type Direction int

// Directions. AnyDirection (the zero value) matches both.
const (
	AnyDirection Direction = iota
	ToMaster               // viewer → master
	ToViewer               // master → viewer
)

// String is the direction's name in the --fault syntax.
func (d Direction) String() string {
	switch d {
	case ToMaster:
		return "to-master"
	case ToViewer:
		return "to-viewer"
	}
	return "any"
}

// RefuseTarget is what a FaultRefuse refuses.
type RefuseTarget int

// Refuse targets.
const (
	RefuseUnknown  RefuseTarget = iota
	RefuseConnects              // WSS upgrades (ConnectAsMaster, ConnectAsViewer)
	RefuseREST                  // control- and data-plane HTTPS calls
)

// String is the target's name in the --fault syntax.
func (t RefuseTarget) String() string {
	switch t {
	case RefuseConnects:
		return "connect"
	case RefuseREST:
		return "rest"
	}
	return "unknown"
}

// FaultID identifies an injected fault; rules are removed by it.
type FaultID uint64

// Fault describes one fault to inject, in the same terms as the
// `kvsrtc emulator --fault` flag (ParseFault) and the admin API.
type Fault struct {
	Kind FaultKind
	// ChannelARN limits the fault to one channel, by ARN or by name; ""
	// means every channel. FaultKill of a master needs it.
	ChannelARN string
	// Direction limits frame faults to frames toward the master or toward
	// viewers.
	Direction Direction
	// Action limits frame faults to one message type: "SDP_OFFER",
	// "SDP_ANSWER" or "ICE_CANDIDATE"; "" means all.
	Action string
	// Probability is the chance a matching frame is affected, in (0, 1];
	// 0 means 1.
	Probability float64
	// Delay is how long FaultDelay holds a frame, how long FaultReorder
	// waits for a next frame before it lets a held one go (default 1 s),
	// and how far FaultClock moves the clock (negative moves it back).
	Delay time.Duration
	// Count is how many frames a frame fault affects, or how many calls
	// FaultRefuse refuses (default 1); 0 makes a frame fault unlimited.
	Count int
	// Target, Operation, Status, Code and Message describe a FaultRefuse:
	// what is refused (Operation narrows it to one operation name, e.g.
	// "GetIceServerConfig" or "ConnectAsViewer"), with which HTTP status
	// (400, 403, 404, 429, 500 or 503; default 500) and error code and
	// message (default: the service's for that status).
	Target    RefuseTarget
	Operation string
	Status    int
	Code      string
	Message   string
	// ClientID is the viewer FaultKill cuts; "" cuts the master.
	ClientID string
}

// String is the fault in the --fault syntax.
func (f Fault) String() string {
	parts := []string{f.Kind.String()}
	add := func(s string) { parts = append(parts, s) }
	switch f.Kind {
	case FaultRefuse:
		add(f.Target.String())
		if f.Operation != "" {
			add("op=" + f.Operation)
		}
		if f.Status != 0 {
			add(fmt.Sprint(f.Status))
		}
	case FaultClock:
		add(f.Delay.String())
	case FaultKill:
		if f.ClientID != "" {
			add("client=" + f.ClientID)
		}
	}
	if f.Direction != AnyDirection {
		add(f.Direction.String())
	}
	if f.ChannelARN != "" {
		add("channel=" + f.ChannelARN)
	}
	if f.Action != "" {
		add("action=" + f.Action)
	}
	if f.Kind.frameFault() {
		if f.Probability != 0 && f.Probability != 1 {
			add(fmt.Sprint(f.Probability))
		}
		if f.Delay != 0 {
			add(f.Delay.String())
		}
	}
	if f.Count != 0 {
		add(fmt.Sprintf("count=%d", f.Count))
	}
	return strings.Join(parts, ":")
}

// FaultEvent reports a fault: when a rule or an instant fault is
// injected (Injected true) and each time a rule acts (a frame dropped,
// delayed, duplicated or reordered; a call refused). It goes to
// Options.OnFault and Emulator.Faults.
type FaultEvent struct {
	// ID is the fault's id (Inject's result).
	ID FaultID
	// Kind is the fault's kind.
	Kind FaultKind
	// Injected is true for the event of Inject itself, false when a rule acts.
	Injected bool
	// ChannelARN is the channel affected; "" for every channel.
	ChannelARN string
	// Direction, Action and ClientID describe the frame acted on (ClientID
	// is its viewer), or the client killed.
	Direction Direction
	Action    string
	ClientID  string
	// Detail says what happened in words, e.g. "dropped", "delayed 200ms",
	// "refused GetIceServerConfig: 429 ThrottlingException", "reached 3
	// connections".
	Detail string
	// At is when it happened, by the emulator's clock.
	At time.Time
}

// String is a short description for logs and test failures.
func (ev FaultEvent) String() string {
	s := fmt.Sprintf("fault %d %s", ev.ID, ev.Kind)
	if ev.Direction != AnyDirection {
		s += " " + ev.Direction.String()
	}
	if ev.Action != "" {
		s += " " + ev.Action
	}
	if ev.ClientID != "" {
		s += " client " + ev.ClientID
	}
	if ev.ChannelARN != "" {
		s += " on " + ev.ChannelARN
	}
	return s + ": " + ev.Detail
}

// ErrBadFault reports a Fault that cannot be injected; the message says
// which field is wrong.
var ErrBadFault = errors.New("bad fault")

// Inject injects a fault and returns its id. Frame faults and refusals
// stay until used up or removed with RemoveFault; the others act at once
// and are only logged. Every injection and every action of a rule is
// reported to Options.OnFault and kept in Faults.
func (e *Emulator) Inject(f Fault) (FaultID, error) {
	f, err := f.normalize()
	if err != nil {
		return 0, err
	}
	id := e.faults.newID()
	ev := FaultEvent{ID: id, Kind: f.Kind, Injected: true, ChannelARN: f.ChannelARN, Direction: f.Direction,
		Action: f.Action, ClientID: f.ClientID, At: e.now()}
	arn := e.resolveChannel(f.ChannelARN)
	switch f.Kind {
	case FaultDelay, FaultDrop, FaultDuplicate, FaultReorder, FaultRefuse:
		e.faults.addRule(id, f)
		ev.Detail = "rule " + f.String()
	case FaultGoAway:
		ev.Detail = fmt.Sprintf("GO_AWAY sent to %d connections", e.relay.sendToChannel(arn, goAwayFrame, false))
	case FaultReconnectICE:
		ev.Detail = fmt.Sprintf("RECONNECT_ICE_SERVER sent to %d connections", e.relay.sendToChannel(arn, reconnectFrame, false))
	case FaultClose:
		ev.Detail = fmt.Sprintf("closed %d connections with 1001", e.relay.sendToChannel(arn, nil, true))
	case FaultKill:
		n := e.relay.cut(arn, f.ClientID)
		if n == 0 {
			return 0, fmt.Errorf("%w: kill: no connection of %s on %s", ErrBadFault, who(f.ClientID), channelOrAll(f.ChannelARN))
		}
		ev.Detail = fmt.Sprintf("cut %d connections", n)
	case FaultExpireTURN:
		// Moving the TURN servers' clock past every credential issued so
		// far expires them all; the ones GetIceServerConfig issues next are
		// stamped on the same clock and are valid.
		e.turnShift.Add(int64(e.opts.IceTTL + time.Second))
		ev.Detail = "TURN credentials issued so far expired"
	case FaultClock:
		e.clockShift.Add(int64(f.Delay))
		ev.Detail = "clock moved by " + f.Delay.String()
	}
	e.faults.emit(ev)
	e.log.Info("fault injected", "fault", ev.String())
	return id, nil
}

// RemoveFault removes a rule (a frame fault or a refusal); false if no
// such rule is active.
func (e *Emulator) RemoveFault(id FaultID) bool { return e.faults.removeRule(id) }

// ClearFaults removes every rule and lets frames held by reorder rules go.
func (e *Emulator) ClearFaults() { e.faults.clearRules() }

// Faults returns the fault events so far (the newest 10,000), oldest first.
func (e *Emulator) Faults() []FaultEvent { return e.faults.log() }

// GoAway sends GO_AWAY to every connection of the channel (all channels
// when channelARN is empty) without closing them, as the service does a
// minute before it ends a connection. It returns how many it reached.
func (e *Emulator) GoAway(channelARN string) int {
	return e.instant(FaultGoAway, channelARN, func(arn string) int { return e.relay.sendToChannel(arn, goAwayFrame, false) })
}

// ReconnectICEServer sends RECONNECT_ICE_SERVER to every connection of the
// channel (§4.5), as the service does when a TURN relay is going away.
func (e *Emulator) ReconnectICEServer(channelARN string) int {
	return e.instant(FaultReconnectICE, channelARN, func(arn string) int { return e.relay.sendToChannel(arn, reconnectFrame, false) })
}

// DropConnections closes every connection of the channel with 1001 "Going
// away", as the service does at the idle timeout or the connection limit.
func (e *Emulator) DropConnections(channelARN string) int {
	return e.instant(FaultClose, channelARN, func(arn string) int { return e.relay.sendToChannel(arn, nil, true) })
}

// instant runs an instant fault and reports it.
func (e *Emulator) instant(kind FaultKind, channelARN string, do func(arn string) int) int {
	n := do(e.resolveChannel(channelARN))
	e.faults.emit(FaultEvent{ID: e.faults.newID(), Kind: kind, Injected: true, ChannelARN: channelARN,
		Detail: fmt.Sprintf("reached %d connections", n), At: e.now()})
	return n
}

// Connections reports who is connected to a channel: whether a master is,
// and the viewers' client ids.
func (e *Emulator) Connections(channelARN string) (master bool, viewers []string) {
	e.relay.mu.Lock()
	defer e.relay.mu.Unlock()
	cs := e.relay.channels[channelARN]
	if cs == nil {
		return false, nil
	}
	for id := range cs.viewers {
		viewers = append(viewers, id)
	}
	return cs.master != nil, viewers
}

// resolveChannel turns a channel name into its ARN; ARNs and "" pass.
func (e *Emulator) resolveChannel(s string) string {
	if s == "" || strings.HasPrefix(s, "arn:") {
		return s
	}
	if c, ok := e.store.getByName(e.Account(), s); ok {
		return c.ARN
	}
	return s // unknown: matches nothing
}

func who(clientID string) string {
	if clientID == "" {
		return "the master"
	}
	return "viewer " + clientID
}

func channelOrAll(arn string) string {
	if arn == "" {
		return "any channel"
	}
	return arn
}

// normalize checks f and fills defaults.
func (f Fault) normalize() (Fault, error) {
	bad := func(format string, args ...any) (Fault, error) {
		return f, fmt.Errorf("%w: %s: %s", ErrBadFault, f.Kind, fmt.Sprintf(format, args...))
	}
	if f.Kind <= FaultUnknown || int(f.Kind) >= len(faultNames) {
		return f, fmt.Errorf("%w: unknown kind %d", ErrBadFault, f.Kind)
	}
	if f.Probability < 0 || f.Probability > 1 || f.Probability != f.Probability {
		return bad("probability %v: want a number in (0, 1]", f.Probability)
	}
	if f.Probability == 0 {
		f.Probability = 1
	}
	if f.Count < 0 {
		return bad("count %d: want 0 (unlimited) or more", f.Count)
	}
	switch f.Action {
	case "", "SDP_OFFER", "SDP_ANSWER", "ICE_CANDIDATE":
	default:
		return bad("action %q: want SDP_OFFER, SDP_ANSWER or ICE_CANDIDATE", f.Action)
	}
	switch f.Kind {
	case FaultDelay:
		if f.Delay <= 0 || f.Delay > time.Hour {
			return bad("delay %v: want between 1ns and 1h", f.Delay)
		}
	case FaultReorder:
		if f.Delay == 0 {
			f.Delay = time.Second
		}
		if f.Delay < 0 || f.Delay > time.Hour {
			return bad("hold %v: want between 1ns and 1h", f.Delay)
		}
	case FaultRefuse:
		if f.Target != RefuseConnects && f.Target != RefuseREST {
			return bad("target: want connect or rest")
		}
		if f.Count == 0 {
			f.Count = 1
		}
		if f.Status == 0 {
			f.Status = 500
		}
		if _, ok := refusalCodes[f.Status]; !ok {
			return bad("status %d: want 400, 403, 404, 429, 500 or 503", f.Status)
		}
	case FaultClock:
		if f.Delay == 0 {
			return bad("want a non-zero shift, e.g. 10m or -5m")
		}
	case FaultKill:
		if f.ClientID == "" && f.ChannelARN == "" {
			return bad("a master is killed by channel: give channel= (or client= for a viewer)")
		}
	}
	return f, nil
}
