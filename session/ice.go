package session

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// ICEServers converts resolved ICE servers (resolve.Resolver.ICEServers)
// to pion's, for a webrtc.Configuration of your own: the STUN URI, and each
// TURN server with its username and credential. rt keeps only the TURN URIs
// of one transport (RelayAny keeps them all); STUN URIs are always kept.
func ICEServers(cfg resolve.ICEConfig, rt RelayTransport) []webrtc.ICEServer {
	return iceServers(cfg, rt)
}

// iceServers turns resolved ICE servers into pion's, keeping only the TURN
// URIs of transport rt (STUN URIs are always kept).
func iceServers(cfg resolve.ICEConfig, rt RelayTransport) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, s := range cfg.Servers {
		var urls []string
		for _, u := range s.URLs {
			if keepURL(u, rt) {
				urls = append(urls, u)
			}
		}
		if len(urls) == 0 {
			continue
		}
		ws := webrtc.ICEServer{URLs: urls}
		if s.Username != "" {
			ws.Username, ws.Credential = s.Username, s.Credential
		}
		out = append(out, ws)
	}
	return out
}

// keepURL reports whether u is wanted for relay transport rt. TURN over
// DTLS (turns:…?transport=udp, which the service lists) is never kept: the
// C SDK skips it (csdk-client.md, ICE), and pion would verify the server
// only against the system pool (no hook takes a CA for its DTLS dial), so a
// private CA could never work; TLS over TCP (turnTLS) carries the same
// relay.
func keepURL(u string, rt RelayTransport) bool {
	lu := strings.ToLower(u)
	tls := strings.HasPrefix(lu, "turns:")
	tcp := strings.Contains(lu, "transport=tcp")
	if tls && !tcp {
		return false
	}
	if strings.HasPrefix(lu, "stun:") || strings.HasPrefix(lu, "stuns:") || rt == RelayAny {
		return true
	}
	switch rt {
	case RelayTLS:
		return tls
	case RelayTCP:
		return !tls && tcp
	case RelayUDP:
		return !tls && !tcp
	}
	return false
}

// iceKeeper holds a channel's current ICE servers and fetches them again
// when their Ttl ends or the service sends RECONNECT_ICE_SERVER (spec §5.3).
// Expiry is read on the resolver's clock (resolve.Options.Now), which is
// also the clock the servers' Expires was set with.
type iceKeeper struct {
	r        *resolve.Resolver
	arn      channel.ARN
	role     channel.Role
	ep       func(ctx context.Context) (resolve.Endpoints, error)
	clientID string

	fetchMu sync.Mutex // one fetch at a time

	mu        sync.Mutex
	cfg       resolve.ICEConfig
	refreshes int
}

func newICEKeeper(r *resolve.Resolver, arn channel.ARN, role channel.Role, clientID string, cfg resolve.ICEConfig) *iceKeeper {
	k := &iceKeeper{r: r, arn: arn, role: role, clientID: clientID, cfg: cfg}
	k.ep = func(ctx context.Context) (resolve.Endpoints, error) { return r.Endpoints(ctx, arn, role) }
	return k
}

// current returns the ICE servers as they are, expired or not.
func (k *iceKeeper) current() resolve.ICEConfig {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cfg
}

// valid returns the current ICE servers if their Ttl lasts.
func (k *iceKeeper) valid() (resolve.ICEConfig, bool) {
	cfg := k.current()
	return cfg, k.r.Now().Before(cfg.Expires)
}

// freshTimeout bounds the fetch fresh makes before a peer connection.
const freshTimeout = 5 * time.Second

// fresh returns ICE servers to build a peer connection with: the current
// ones while their Ttl lasts, else fetched again first (the background
// refresh may not have run: a process that slept, or a clock that jumped).
// If that fetch fails the old servers are returned; STUN and host
// candidates may still do.
func (k *iceKeeper) fresh(ctx context.Context, logf func(msg string, args ...any)) resolve.ICEConfig {
	cfg := k.current()
	if k.r.Now().Before(cfg.Expires) {
		return cfg
	}
	ctx, cancel := context.WithTimeout(ctx, freshTimeout)
	defer cancel()
	if err := k.fetch(ctx, false); err != nil {
		logf("fetch expired ICE servers again", "err", err)
	}
	return k.current()
}

// count is how many times the servers were fetched again.
func (k *iceKeeper) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refreshes
}

// fetch gets the servers again; forced drops the caches first. Unforced,
// servers still valid (fetched meanwhile by another caller, or in a shared
// cache) come from the cache and are not counted as a refresh.
func (k *iceKeeper) fetch(ctx context.Context, forced bool) error {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	if !forced && k.r.Now().Before(k.current().Expires) {
		return nil // another caller just did it
	}
	if forced {
		if err := k.r.InvalidateICE(ctx, k.arn, k.role); err != nil {
			return err
		}
	}
	ep, err := k.ep(ctx)
	if err != nil {
		return err
	}
	cfg, err := k.r.ICEServers(ctx, ep, k.clientID)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.cfg = cfg
	if !cfg.FromCache {
		k.refreshes++
	}
	k.mu.Unlock()
	return nil
}

// run fetches the servers again when their Ttl ends, until ctx ends.
// Errors are retried after a short pause (the old servers stay in use
// meanwhile).
func (k *iceKeeper) run(ctx context.Context, logf func(msg string, args ...any)) {
	for {
		wait := k.current().Expires.Sub(k.r.Now())
		if wait < time.Second {
			wait = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := k.fetch(ctx, false); err != nil && ctx.Err() == nil {
			logf("fetch ICE servers again", "err", err)
		}
	}
}
