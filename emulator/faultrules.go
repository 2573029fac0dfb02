package emulator

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvsrtc/kvsrtc/wire"
)

// maxFaultLog bounds the fault events kept for Faults and waiting for a
// slow OnFault.
const maxFaultLog = 10000

// faultSet holds the active fault rules and the fault log, and hands
// events to Options.OnFault on one goroutine, in order (as connEvents
// does), so the hook may call the Emulator.
type faultSet struct {
	e      *Emulator
	hook   func(FaultEvent)
	nextID atomic.Uint64
	active atomic.Bool // any rule: the frame path's fast check

	mu      sync.Mutex
	rules   []*faultRule
	events  []FaultEvent
	pending []FaultEvent
	held    map[string]*reorderHeld // reorder: by channel + recipient
	lines   map[string]*delayLine   // delay: by channel + recipient
	closed  bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup // delay lines' goroutines and reorder timers
}

// faultRule is an active frame fault or refusal.
type faultRule struct {
	id   FaultID
	f    Fault
	left int // Count left; 0 unlimited
}

// reorderHeld is a frame a reorder rule holds until the next one.
type reorderHeld struct {
	deliver func()
	timer   *time.Timer
}

func newFaultSet(e *Emulator, hook func(FaultEvent)) *faultSet {
	s := &faultSet{e: e, hook: hook, held: map[string]*reorderHeld{}, lines: map[string]*delayLine{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if hook == nil {
		close(s.done)
	} else {
		go s.dispatch()
	}
	return s
}

func (s *faultSet) newID() FaultID { return FaultID(s.nextID.Add(1)) }

func (s *faultSet) addRule(id FaultID, f Fault) {
	s.mu.Lock()
	s.rules = append(s.rules, &faultRule{id: id, f: f, left: f.Count})
	s.active.Store(true)
	s.mu.Unlock()
}

// updateActiveLocked keeps active true while a rule is there or a frame
// is held (the next frame must release it); s.mu must be held.
func (s *faultSet) updateActiveLocked() { s.active.Store(len(s.rules) > 0 || len(s.held) > 0) }

func (s *faultSet) removeRule(id FaultID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if r.id == id {
			s.rules = append(s.rules[:i], s.rules[i+1:]...)
			s.updateActiveLocked()
			return true
		}
	}
	return false
}

// clearRules removes every rule and releases held frames.
func (s *faultSet) clearRules() {
	s.mu.Lock()
	s.rules = nil
	held := s.held
	s.held = map[string]*reorderHeld{}
	s.updateActiveLocked()
	s.mu.Unlock()
	for _, h := range held {
		if h.timer.Stop() {
			h.deliver()
			s.wg.Done()
		}
	}
}

// take finds the first rule that matches and uses it once; r is nil when
// none matches (or its probability said no). s.mu must be held.
func (s *faultSet) takeLocked(match func(Fault) bool) *faultRule {
	for i, r := range s.rules {
		if !match(r.f) {
			continue
		}
		if r.f.Probability < 1 && rand.Float64() >= r.f.Probability {
			return nil
		}
		if r.left > 0 {
			r.left--
			if r.left == 0 {
				s.rules = append(s.rules[:i], s.rules[i+1:]...)
				s.updateActiveLocked()
			}
		}
		return r
	}
	return nil
}

func (s *faultSet) matchChannel(want, arn string) bool {
	return want == "" || want == arn || s.e.resolveChannel(want) == arn
}

// frame applies the frame rules to a frame from the relay on its way to
// recipient ("" is the master); deliver sends it on. It reports whether
// the frame was taken care of (dropped, delayed, duplicated, held); false
// means deliver it as usual.
func (s *faultSet) frame(arn, recipient, viewer string, action wire.Action, deliver func()) bool {
	if !s.active.Load() {
		return false
	}
	dir := ToViewer
	if recipient == "" {
		dir = ToMaster
	}
	key := arn + "\x00" + recipient
	act := action.String()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	r := s.takeLocked(func(f Fault) bool {
		return f.Kind.frameFault() && (f.Direction == AnyDirection || f.Direction == dir) &&
			(f.Action == "" || f.Action == act) && s.matchChannel(f.ChannelARN, arn)
	})
	// A frame held by a reorder rule goes right after this one.
	prev := s.held[key]
	if prev != nil && prev.timer.Stop() {
		delete(s.held, key)
		s.updateActiveLocked()
	} else {
		prev = nil
	}
	ev := FaultEvent{Kind: FaultUnknown, ChannelARN: arn, Direction: dir, Action: act, ClientID: viewer, At: s.e.now()}
	var then func()
	handled := true
	switch {
	case r == nil:
		handled = false
	case r.f.Kind == FaultDrop:
		ev.Detail = "dropped"
	case r.f.Kind == FaultDuplicate:
		ev.Detail = "duplicated"
		then = deliver
		handled = false
	case r.f.Kind == FaultDelay:
		ev.Detail = "delayed " + r.f.Delay.String()
		s.lineLocked(key).push(time.Now().Add(r.f.Delay), deliver)
	case r.f.Kind == FaultReorder && prev == nil:
		ev.Detail = "held for the next frame (at most " + r.f.Delay.String() + ")"
		h := &reorderHeld{deliver: deliver}
		s.wg.Add(1)
		h.timer = time.AfterFunc(r.f.Delay, func() {
			defer s.wg.Done()
			s.mu.Lock()
			if s.held[key] == h {
				delete(s.held, key)
				s.updateActiveLocked()
			}
			s.mu.Unlock()
			deliver()
		})
		s.held[key] = h
		s.updateActiveLocked()
	default: // a reorder rule while a frame is held: this one goes first
		ev.Detail = "sent ahead of the held frame"
		handled = false
	}
	if r != nil {
		ev.ID, ev.Kind = r.id, r.f.Kind
		s.emitLocked(ev)
	}
	s.mu.Unlock()
	if !handled {
		deliver()
	}
	if then != nil {
		then()
	}
	if prev != nil {
		prev.deliver()
		s.wg.Done()
	}
	return true
}

// refusal returns the error a refusal rule answers a call with, or nil.
func (s *faultSet) refusal(target RefuseTarget, operation string) *apiError {
	if !s.active.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.takeLocked(func(f Fault) bool {
		return f.Kind == FaultRefuse && f.Target == target && (f.Operation == "" || strings.EqualFold(f.Operation, operation))
	})
	if r == nil {
		return nil
	}
	aerr := refusalError(r.f)
	s.emitLocked(FaultEvent{ID: r.id, Kind: FaultRefuse, ChannelARN: r.f.ChannelARN,
		Detail: "refused " + operation + ": " + http.StatusText(aerr.Status) + " " + aerr.Code, At: s.e.now()})
	return aerr
}

// refusalCodes are the service's error codes for a refusal's status
// (spec §1.4, §5.1); 429 and 5xx come from the AWS front end.
var refusalCodes = map[int]struct{ code, message string }{
	400: {"ClientLimitExceededException", "the request was throttled (injected fault)"},
	403: {"AccessDeniedException", "the security token included in the request is invalid (injected fault)"},
	404: {"ResourceNotFoundException", "the requested channel is not found or not active (injected fault)"},
	429: {"ThrottlingException", "Rate exceeded (injected fault)"},
	500: {"InternalFailure", "the request processing has failed because of an unknown error (injected fault)"},
	503: {"ServiceUnavailableException", "the service is unavailable; retry later (injected fault)"},
}

func refusalError(f Fault) *apiError {
	c := refusalCodes[f.Status]
	aerr := &apiError{Status: f.Status, Code: c.code, Message: c.message, Lower: true}
	if f.Code != "" {
		aerr.Code = f.Code
	}
	if f.Message != "" {
		aerr.Message = f.Message
	}
	return aerr
}

// emit logs an event and hands it to the hook.
func (s *faultSet) emit(ev FaultEvent) {
	s.mu.Lock()
	s.emitLocked(ev)
	s.mu.Unlock()
}

func (s *faultSet) emitLocked(ev FaultEvent) {
	if len(s.events) == maxFaultLog {
		s.events = s.events[1:]
	}
	s.events = append(s.events, ev)
	if s.hook == nil {
		return
	}
	if len(s.pending) == maxFaultLog {
		s.pending = s.pending[1:]
	}
	s.pending = append(s.pending, ev)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *faultSet) log() []FaultEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FaultEvent(nil), s.events...)
}

func (s *faultSet) dispatch() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			s.flush()
			return
		}
		s.flush()
	}
}

func (s *faultSet) flush() {
	for {
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, ev := range batch {
			s.hook(ev)
		}
	}
}

// shutdown drops held and delayed frames, waits for their goroutines and
// delivers the events left.
func (s *faultSet) shutdown() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	for k, h := range s.held {
		if h.timer.Stop() {
			s.wg.Done()
		}
		delete(s.held, k)
	}
	for _, l := range s.lines {
		l.stopNow()
	}
	s.mu.Unlock()
	s.wg.Wait()
	close(s.stop)
	<-s.done
}

// lineLocked returns the delay line of key; s.mu must be held.
func (s *faultSet) lineLocked(key string) *delayLine {
	l := s.lines[key]
	if l == nil {
		l = &delayLine{wg: &s.wg}
		l.gone = func() {
			s.mu.Lock()
			l.mu.Lock()
			if !l.running && s.lines[key] == l {
				delete(s.lines, key)
			}
			l.mu.Unlock()
			s.mu.Unlock()
		}
		s.lines[key] = l
	}
	return l
}

// delayLine runs functions at their due times, in the order pushed (a
// later push never runs before an earlier one, as on a TCP stream).
type delayLine struct {
	wg   *sync.WaitGroup
	gone func() // called when the line has drained and its goroutine ends

	mu      sync.Mutex
	items   []delayed
	last    time.Time
	running bool
	stopped bool
	kick    chan struct{}
}

type delayed struct {
	due time.Time
	fn  func()
}

func (l *delayLine) push(due time.Time, fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	if due.Before(l.last) {
		due = l.last
	}
	l.last = due
	l.items = append(l.items, delayed{due, fn})
	if !l.running {
		l.running = true
		l.kick = make(chan struct{})
		l.wg.Add(1)
		go l.run(l.kick)
	}
}

// stopNow drops what is queued and ends the goroutine.
func (l *delayLine) stopNow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	l.items = nil
	if l.running {
		close(l.kick)
	}
}

func (l *delayLine) run(kick chan struct{}) {
	defer l.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		l.mu.Lock()
		if len(l.items) == 0 || l.stopped {
			l.running = false
			stopped := l.stopped
			l.mu.Unlock()
			if !stopped && l.gone != nil {
				l.gone()
			}
			return
		}
		next := l.items[0]
		if wait := time.Until(next.due); wait > 0 {
			l.mu.Unlock()
			t.Reset(wait)
			select {
			case <-t.C:
			case <-kick:
			}
			continue
		}
		l.items = l.items[1:]
		l.mu.Unlock()
		next.fn()
	}
}
