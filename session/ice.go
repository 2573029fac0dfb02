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

// keepURL reports whether u is wanted for relay transport rt.
func keepURL(u string, rt RelayTransport) bool {
	lu := strings.ToLower(u)
	if strings.HasPrefix(lu, "stun:") || strings.HasPrefix(lu, "stuns:") || rt == RelayAny {
		return true
	}
	tls := strings.HasPrefix(lu, "turns:")
	tcp := strings.Contains(lu, "transport=tcp")
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
type iceKeeper struct {
	r        *resolve.Resolver
	arn      channel.ARN
	role     channel.Role
	ep       func(ctx context.Context) (resolve.Endpoints, error)
	clientID string

	mu        sync.Mutex
	cfg       resolve.ICEConfig
	refreshes int
	kick      chan struct{}
}

func newICEKeeper(r *resolve.Resolver, arn channel.ARN, role channel.Role, clientID string, cfg resolve.ICEConfig) *iceKeeper {
	k := &iceKeeper{r: r, arn: arn, role: role, clientID: clientID, cfg: cfg, kick: make(chan struct{}, 1)}
	k.ep = func(ctx context.Context) (resolve.Endpoints, error) { return r.Endpoints(ctx, arn, role) }
	return k
}

// current returns the ICE servers to build a peer connection with.
func (k *iceKeeper) current() resolve.ICEConfig {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cfg
}

// count is how many times the servers were fetched again.
func (k *iceKeeper) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refreshes
}

// refreshNow asks run to fetch again without waiting for the Ttl.
func (k *iceKeeper) refreshNow() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// fetch gets the servers again; forced drops the caches first.
func (k *iceKeeper) fetch(ctx context.Context, forced bool) error {
	if forced {
		if err := k.r.Invalidate(ctx, k.arn, k.role); err != nil {
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
	k.refreshes++
	k.mu.Unlock()
	return nil
}

// run refreshes until ctx ends. Errors are retried after a short pause
// (the old servers stay in use meanwhile).
func (k *iceKeeper) run(ctx context.Context, logf func(msg string, args ...any)) {
	for {
		wait := time.Until(k.current().Expires)
		if wait < time.Second {
			wait = time.Second
		}
		t := time.NewTimer(wait)
		forced := false
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-k.kick:
			t.Stop()
			forced = true
		}
		if err := k.fetch(ctx, forced); err != nil && ctx.Err() == nil {
			logf("fetch ICE servers again", "err", err)
		}
	}
}
