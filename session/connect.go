package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// link is a channel resolved and connected for one role.
type link struct {
	ep     resolve.Endpoints
	ice    *iceKeeper
	sig    *signaling.Client
	status *sigStatus
	failed <-chan struct{} // closed when the link gave up (see err)
}

// errLinkFailed is returned inside a session when the link gave up.
var errLinkFailed = errors.New("signaling gave up")

// err is why the link gave up.
func (l *link) err() error { return l.status.err() }

// connect resolves the endpoints, then fetches the ICE servers and opens the
// WSS connection side by side: both need only the endpoints. onICE runs as
// soon as the ICE servers are known, while the socket may still be opening
// (a viewer builds its peer connection there). ctx is the session's
// lifetime: the signaling client lives as long as it.
func connect(ctx context.Context, o *Options, role channel.Role, clientID string, tl *Timeline, onICE func(resolve.ICEConfig) error) (*link, error) {
	r := o.Resolver
	t0 := time.Now()
	ep, err := r.Endpoints(ctx, o.ChannelARN, role)
	if err != nil {
		return nil, err
	}
	tl.Mark(StepEndpoints, t0)
	status := newSigStatus(o.Logger, o.CredentialsRetry)
	l := &link{ep: ep, status: status, failed: status.failed}

	var keeperMu sync.Mutex
	var keeper *iceKeeper
	first := true
	sopts := signaling.Options{
		Role:        role,
		ChannelARN:  o.ChannelARN.String(),
		ClientID:    clientID,
		Region:      o.ChannelARN.Region,
		Credentials: o.Credentials,
		HTTPClient:  o.HTTPClient,
		Clock:       r.Clock(),
		Logger:      o.Logger,
		Endpoint: func(ctx context.Context) (string, error) {
			if first {
				first = false // called on the dialing goroutine only, one at a time
				return ep.WSS, nil
			}
			e, err := r.Endpoints(ctx, o.ChannelARN, role)
			return e.WSS, err
		},
		Refresh: func(ctx context.Context, reason signaling.RefreshReason) error {
			switch reason {
			case signaling.RefreshReconnectICEServer:
				keeperMu.Lock()
				k := keeper
				keeperMu.Unlock()
				if k != nil {
					return k.fetch(ctx, true)
				}
			case signaling.RefreshNotFound, signaling.RefreshEndpoint, signaling.RefreshGoAway:
				return r.Invalidate(ctx, o.ChannelARN, role)
			}
			return nil
		},
	}
	if o.Signaling != nil {
		o.Signaling(&sopts)
	}
	watchSignaling(o, &sopts)
	status.hook(&sopts)

	type dialed struct {
		c   *signaling.Client
		err error
	}
	dc := make(chan dialed, 1)
	go func() {
		t := time.Now()
		c, err := dialRetrying(ctx, sopts)
		if err == nil {
			tl.Mark(StepConnect, t)
		}
		dc <- dialed{c, err}
	}()

	t1 := time.Now()
	cfg, iceErr := r.ICEServers(ctx, ep, clientID)
	if iceErr == nil {
		tl.Mark(StepICEServers, t1)
		keeperMu.Lock()
		keeper = newICEKeeper(r, o.ChannelARN, role, clientID, cfg)
		l.ice = keeper
		keeperMu.Unlock()
		if onICE != nil {
			iceErr = onICE(cfg)
		}
	}
	d := <-dc
	switch {
	case d.err != nil:
		return nil, d.err // a *signaling.DialError: channel, role and hint
	case iceErr != nil:
		d.c.Close()
		return nil, iceErr
	}
	l.sig = d.c
	return l, nil
}

// dialRetrying dials, and dials again with backoff while the service
// refuses for throttling (ClientLimitExceededException: the channel takes
// a few connections per second), as long as ctx allows and at most 8 times.
func dialRetrying(ctx context.Context, opts signaling.Options) (*signaling.Client, error) {
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		c, err := signaling.Dial(ctx, opts)
		var he *signaling.HandshakeError
		if err == nil || attempt == 7 || !errors.As(err, &he) || he.ErrorType != "ClientLimitExceededException" {
			return c, err
		}
		opts.Logger.Debug("signaling throttled; trying again", "wait", wait)
		t := time.NewTimer(wait + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}
