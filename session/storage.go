package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/wire"
)

// Storage defaults (spec §6, §12).
const (
	// DefaultJoinRetryInterval is how long a Master waits for the storage
	// service's offer before it calls JoinStorageSession again: the JS SDK
	// sample master's retryIntervalForJoinStorageSession (examples/master.js).
	DefaultJoinRetryInterval = 6 * time.Second
	// DefaultStorageSessionLimit is the service's storage session limit.
	DefaultStorageSessionLimit = time.Hour
	// DefaultRejoinMargin is how long before the limit a Master joins again,
	// so the next session is up before the current one ends.
	DefaultRejoinMargin = time.Minute
)

// StorageOptions make a Master ingest its media into the channel's stream
// through the storage service (WebRTC ingestion, spec §6) instead of
// waiting for viewers: it checks the channel's media storage, connects its
// WSS, calls JoinStorageSession on the WEBRTC endpoint until the service's
// offer arrives, answers it, and joins again before the session limit.
type StorageOptions struct {
	// RetryInterval between JoinStorageSession calls while no offer comes.
	// Default DefaultJoinRetryInterval.
	RetryInterval time.Duration
	// SessionLimit is how long the service keeps a session. Default
	// DefaultStorageSessionLimit.
	SessionLimit time.Duration
	// RejoinMargin is how long before SessionLimit the Master joins again.
	// Default DefaultRejoinMargin (at most half the limit).
	RejoinMargin time.Duration
	// MaxJoins bounds the calls made for one offer before Run fails with
	// ErrNoStorageOffer; zero: no bound.
	MaxJoins int
	// OnEvent, if set, receives the storage timeline as it happens, on the
	// Master's storage goroutine; it must return quickly.
	OnEvent func(StorageEvent)
}

// ErrNoStorageOffer reports joins that never brought an offer.
var ErrNoStorageOffer = errors.New("the storage service sent no offer")

// StorageEventKind says what happened to the storage session.
type StorageEventKind int

// Storage event kinds.
const (
	StorageEventUnknown   StorageEventKind = iota
	StorageEventChecked                    // media storage ENABLED into a stream
	StorageEventJoin                       // JoinStorageSession answered 200
	StorageEventJoinError                  // JoinStorageSession failed (retried if it can be)
	StorageEventNoOffer                    // no offer within RetryInterval: joining again
	StorageEventOffer                      // the service's offer arrived
	StorageEventConnected                  // the session's peer connection is up: recording
	StorageEventRejoin                     // joining again before the session limit
	StorageEventEnded                      // a session's peer connection ended
)

// String names the kind.
func (k StorageEventKind) String() string {
	switch k {
	case StorageEventChecked:
		return "checked"
	case StorageEventJoin:
		return "join"
	case StorageEventJoinError:
		return "join-error"
	case StorageEventNoOffer:
		return "no-offer"
	case StorageEventOffer:
		return "offer"
	case StorageEventConnected:
		return "connected"
	case StorageEventRejoin:
		return "rejoin"
	case StorageEventEnded:
		return "ended"
	}
	return "unknown"
}

// StorageEvent is one step of the storage timeline.
type StorageEvent struct {
	Kind StorageEventKind
	// At is when it happened; Since is its time since the Master's start.
	At    time.Time
	Since time.Duration
	// Session is the storage session's id (the offer's sender id; may be
	// empty, spec §6).
	Session string
	// Attempt is the JoinStorageSession call's number for this offer.
	Attempt int
	// Took is how long the step took: the call, offer→connected.
	Took time.Duration
	// Stream is the stream media is stored into (Checked).
	Stream string
	// Current reports, on Ended, that it was the recording session (a
	// replaced session ends with Current false).
	Current bool
	// Err is the failure, for JoinError and Ended.
	Err error
}

// storageState is a Master's side of WebRTC ingestion.
type storageState struct {
	opts   StorageOptions
	events chan storageSignal
	done   chan struct{} // closed when the join loop ends
	mu     sync.Mutex
	log    []StorageEvent
	err    error // why the storage loop ended Run
}

type storageSignal struct {
	id        string
	tl        *Timeline // tells apart two peers of one id (an empty sender id, §6)
	joined    bool      // an offer was answered (false: its peer ended)
	connected bool
	err       error
}

func newStorageState(o StorageOptions) *storageState {
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultJoinRetryInterval
	}
	if o.SessionLimit <= 0 {
		o.SessionLimit = DefaultStorageSessionLimit
	}
	if o.RejoinMargin <= 0 {
		o.RejoinMargin = DefaultRejoinMargin
	}
	o.RejoinMargin = min(o.RejoinMargin, o.SessionLimit/2)
	return &storageState{opts: o, events: make(chan storageSignal, 64), done: make(chan struct{})}
}

// wrapOnPeer tells the storage loop of every offer answered and peer ended,
// then calls the user's OnPeer.
func (s *storageState) wrapOnPeer(next func(PeerEvent)) func(PeerEvent) {
	return func(ev PeerEvent) {
		select {
		case s.events <- storageSignal{id: ev.ClientID, tl: ev.Timeline, joined: ev.Joined, err: ev.Err}:
		case <-s.done:
		}
		if next != nil {
			next(ev)
		}
	}
}

// StorageEvents returns the storage timeline so far (nil without
// MasterOptions.Storage).
func (m *Master) StorageEvents() []StorageEvent {
	if m.storage == nil {
		return nil
	}
	m.storage.mu.Lock()
	defer m.storage.mu.Unlock()
	return append([]StorageEvent(nil), m.storage.log...)
}

func (m *Master) storageEvent(ev StorageEvent) {
	s := m.storage
	ev.At = time.Now()
	ev.Since = ev.At.Sub(m.tl.Start())
	s.mu.Lock()
	s.log = append(s.log, ev)
	if len(s.log) > 1000 {
		s.log = s.log[1:]
	}
	s.mu.Unlock()
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(ev)
	}
	m.opts.Logger.Debug("storage", "event", ev.Kind.String(), "session", ev.Session, "attempt", ev.Attempt, "err", ev.Err)
}

// storageFailed ends Run with err.
func (m *Master) storageFailed(err error) {
	m.storage.mu.Lock()
	if m.storage.err == nil {
		m.storage.err = err
	}
	m.storage.mu.Unlock()
	m.mu.Lock()
	cancel := m.cancel
	m.mu.Unlock()
	cancel()
}

// storageErr is why the storage loop ended Run, if it did.
func (m *Master) storageErr() error {
	if m.storage == nil {
		return nil
	}
	m.storage.mu.Lock()
	defer m.storage.mu.Unlock()
	return m.storage.err
}

// retryableJoin reports join failures worth another call (the JS sample
// master's rule: throttling, network errors, 5xx; examples/master.js).
func retryableJoin(err error) bool {
	if errors.Is(err, resolve.ErrThrottled) || errors.Is(err, resolve.ErrUnreachable) {
		return true
	}
	var se interface{ HTTPStatusCode() int }
	if errors.As(err, &se) {
		return se.HTTPStatusCode() >= 500
	}
	code := wire.ErrorCode(err)
	return code == "" // no service answer: a connection error
}

// runStorage is the join loop (spec §6; JS SDK examples/master.js
// callJoinStorageSessionUntilSDPOfferReceived; C SDK JOIN_SESSION states):
// join, wait RetryInterval for the offer, join again; once a session is up,
// join again RejoinMargin before its limit (the new session replaces the
// old one only once connected, so recording has no gap); when the
// recording session ends early, join again at once.
func (m *Master) runStorage(ctx context.Context, ms resolve.MediaStorage) {
	s := m.storage
	o := s.opts
	arn := m.opts.ChannelARN
	m.storageEvent(StorageEvent{Kind: StorageEventChecked, Stream: ms.StreamARN})
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	rejoin := time.NewTimer(time.Hour)
	rejoin.Stop()
	defer retry.Stop()
	defer rejoin.Stop()
	attempts := 0
	waiting := false                     // joined, no offer yet
	var current *Timeline                // the recording session's peer
	currentID := ""                      // and its id
	offered := map[*Timeline]time.Time{} // sessions offered, not yet connected
	join := func() {
		for {
			attempts++
			t := time.Now()
			err := m.opts.Resolver.JoinStorageSession(ctx, ms.WebRTC, arn)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				m.storageEvent(StorageEvent{Kind: StorageEventJoin, Attempt: attempts, Took: time.Since(t)})
				break
			}
			m.storageEvent(StorageEvent{Kind: StorageEventJoinError, Attempt: attempts, Took: time.Since(t), Err: err})
			if !retryableJoin(err) {
				m.storageFailed(err)
				return
			}
			if o.MaxJoins > 0 && attempts >= o.MaxJoins {
				m.storageFailed(fmt.Errorf("%w after %d JoinStorageSession calls: %w", ErrNoStorageOffer, attempts, err))
				return
			}
			w := time.NewTimer(o.RetryInterval)
			select {
			case <-ctx.Done():
				w.Stop()
				return
			case <-w.C:
			}
		}
		waiting = true
		retry.Reset(o.RetryInterval)
	}
	watch := func(id string, tl *Timeline) {
		m.mu.Lock()
		mp := m.peers[id]
		m.mu.Unlock()
		if mp == nil || mp.tl != tl {
			return
		}
		// The service ends a session by closing its peer: the SCTP
		// association's close is seen at once (ICE would take seconds).
		mp.pc.SCTP().OnClose(func(error) { mp.end(errors.New("storage session closed by the service")) })
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			select {
			case <-mp.connected:
				select {
				case s.events <- storageSignal{id: id, tl: tl, connected: true}:
				case <-ctx.Done():
				}
			case <-mp.ended:
			case <-ctx.Done():
			}
		}()
	}
	join()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			if !waiting {
				continue
			}
			if o.MaxJoins > 0 && attempts >= o.MaxJoins {
				m.storageFailed(fmt.Errorf("%w after %d JoinStorageSession calls (%s apart)", ErrNoStorageOffer, attempts, o.RetryInterval))
				return
			}
			m.storageEvent(StorageEvent{Kind: StorageEventNoOffer, Attempt: attempts})
			join()
		case <-rejoin.C:
			m.storageEvent(StorageEvent{Kind: StorageEventRejoin, Session: currentID})
			attempts = 0
			join()
		case sig := <-s.events:
			switch {
			case sig.connected:
				at, ok := offered[sig.tl]
				if !ok {
					continue
				}
				delete(offered, sig.tl)
				current, currentID = sig.tl, sig.id
				m.storageEvent(StorageEvent{Kind: StorageEventConnected, Session: sig.id, Took: time.Since(at)})
				rejoin.Reset(o.SessionLimit - o.RejoinMargin)
			case sig.joined:
				waiting = false
				retry.Stop()
				offered[sig.tl] = time.Now()
				m.storageEvent(StorageEvent{Kind: StorageEventOffer, Session: sig.id, Attempt: attempts})
				attempts = 0
				watch(sig.id, sig.tl)
			default:
				wasCurrent := current != nil && sig.tl == current
				_, pending := offered[sig.tl]
				delete(offered, sig.tl)
				m.storageEvent(StorageEvent{Kind: StorageEventEnded, Session: sig.id, Current: wasCurrent, Err: sig.err})
				if wasCurrent {
					current = nil
					rejoin.Stop()
				}
				// The recording session ended, or the offer meant to
				// start one failed with none recording: join again at
				// once, unless already joining or another offer is on
				// its way up (with one sender id for every session, §6,
				// a new offer itself ends the session it replaces).
				if (wasCurrent || (pending && current == nil)) && len(offered) == 0 && !waiting {
					join()
				}
			}
		}
	}
}

// prepareStorage checks the channel's media storage before Run connects
// (and says what is wrong); the returned func starts the join loop once
// the WSS is up. Without MasterOptions.Storage both do nothing.
func (m *Master) prepareStorage(ctx context.Context) (func(), error) {
	if m.storage == nil {
		return func() {}, nil
	}
	ms, err := m.opts.Resolver.CheckMediaStorage(ctx, m.opts.ChannelARN)
	if err != nil {
		return nil, err
	}
	return func() {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer close(m.storage.done)
			m.runStorage(ctx, ms)
		}()
	}, nil
}

// MarshalText gives the kind's name in JSON.
func (k StorageEventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalJSON writes the event with stable field names, times in ms and
// the error as its message.
func (ev StorageEvent) MarshalJSON() ([]byte, error) {
	type out struct {
		Kind    StorageEventKind `json:"kind"`
		At      time.Time        `json:"at"`
		SinceMs float64          `json:"sinceMs"`
		Session string           `json:"session,omitempty"`
		Attempt int              `json:"attempt,omitempty"`
		TookMs  float64          `json:"tookMs,omitempty"`
		Stream  string           `json:"stream,omitempty"`
		Current bool             `json:"current,omitempty"`
		Error   string           `json:"error,omitempty"`
	}
	o := out{Kind: ev.Kind, At: ev.At, SinceMs: ms(ev.Since), Session: ev.Session, Attempt: ev.Attempt, TookMs: ms(ev.Took),
		Stream: ev.Stream, Current: ev.Current}
	if ev.Err != nil {
		o.Error = ev.Err.Error()
	}
	return json.Marshal(o)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
