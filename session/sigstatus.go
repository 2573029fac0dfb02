package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/signaling"
)

// DefaultCredentialsRetry is how long a session's signaling may be refused
// for its credentials before Run gives up (Options.CredentialsRetry).
const DefaultCredentialsRetry = time.Minute

// ErrCredentials reports signaling refused for its credentials for longer
// than Options.CredentialsRetry: they expired (or were revoked) and the
// provider cannot refresh them.
var ErrCredentials = errors.New("signaling refused the credentials")

// sigStatus follows a link's signaling client: it logs when the connection
// drops, each failed reconnection with its cause, and when it is back, and
// fails the link when the credentials keep being refused.
type sigStatus struct {
	log   *slog.Logger
	grace time.Duration // <0: for ever

	mu        sync.Mutex
	downSince time.Time
	authSince time.Time
	failErr   error
	failed    chan struct{} // closed with failErr set
}

func newSigStatus(log *slog.Logger, grace time.Duration) *sigStatus {
	if grace == 0 {
		grace = DefaultCredentialsRetry
	}
	return &sigStatus{log: log, grace: grace, failed: make(chan struct{})}
}

// hook chains the status onto o's callbacks, keeping the caller's.
func (s *sigStatus) hook(o *signaling.Options) {
	onState, onRetry := o.OnStateChange, o.OnReconnectError
	o.OnStateChange = func(sc signaling.StateChange) {
		s.state(sc)
		if onState != nil {
			onState(sc)
		}
	}
	o.OnReconnectError = func(n int, err error) {
		s.retry(n, err)
		if onRetry != nil {
			onRetry(n, err)
		}
	}
}

func (s *sigStatus) state(sc signaling.StateChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch sc.State {
	case signaling.StateReconnecting:
		s.downSince = time.Now()
		s.log.Warn("signaling lost; reconnecting", "cause", errString(sc.Err))
	case signaling.StateConnected:
		if !s.downSince.IsZero() {
			s.log.Info("signaling connected again", "after", time.Since(s.downSince).Round(time.Millisecond))
		}
		s.downSince, s.authSince = time.Time{}, time.Time{}
	}
}

func (s *sigStatus) retry(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Warn("signaling reconnect failed", "attempt", n, "cause", errString(err))
	if !authRefused(err) {
		return
	}
	now := time.Now()
	if s.authSince.IsZero() {
		s.authSince = now
	}
	if s.grace < 0 || now.Sub(s.authSince) < s.grace || s.failErr != nil {
		return
	}
	s.failErr = fmt.Errorf("%w for %v (the credentials may have expired and cannot be refreshed): %w",
		ErrCredentials, now.Sub(s.authSince).Round(time.Second), err)
	s.log.Error("giving up: signaling keeps refusing the credentials", "for", now.Sub(s.authSince).Round(time.Second))
	close(s.failed)
}

// err is why the link failed.
func (s *sigStatus) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failErr
}

// authRefused reports a connection attempt refused for its credentials.
func authRefused(err error) bool {
	code := signaling.StatusCode(err)
	return code == http.StatusUnauthorized || code == http.StatusForbidden || errors.Is(err, signaling.ErrRetrieveCredentials)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
