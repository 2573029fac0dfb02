package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/signaling"
)

// checkParallel runs what needs only the endpoints side by side, as a
// session does (GetIceServerConfig while the WSS opens) plus the STUN
// binding, then the TURN allocations, one per URI, side by side. The
// checks are added in report order whatever order they end in.
func (s *state) checkParallel(ctx context.Context) {
	var wg sync.WaitGroup
	var iceC, connC, stunC Check
	var turnCs []Check
	wg.Add(3)
	go func() {
		defer wg.Done()
		iceC = s.checkICEConfig(ctx)
		if s.iceOK {
			turnCs = s.checkTURN(ctx)
		}
	}()
	go func() {
		defer wg.Done()
		connC = s.checkConnect(ctx)
	}()
	go func() {
		defer wg.Done()
		stunC = s.checkSTUN(ctx)
	}()
	wg.Wait()
	s.add(iceC, connC, stunC)
	if !s.iceOK {
		s.skip(StepTURN, "turn", "relayCandidateSetUpTime", "no TURN servers: GetIceServerConfig did not answer")
		return
	}
	s.add(turnCs...)
}

// skipped is a check that did not run, for the parallel steps.
func (s *state) skipped(step Step, name, metric, why string) Check {
	now := time.Now()
	c := s.check(step, name, metric, now, now)
	c.Status, c.Error, c.Ms = StatusSkip, why, 0
	return c
}

// checkICEConfig calls GetIceServerConfig on the HTTPS endpoint.
func (s *state) checkICEConfig(ctx context.Context) Check {
	const name, metric = "getIceConfig", "getIceConfigCallTime"
	if s.credsBad {
		return s.skipped(StepICEConfig, name, metric, "needs credentials the service accepts")
	}
	if !s.epOK {
		return s.skipped(StepICEConfig, name, metric, "no HTTPS endpoint")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	t0 := time.Now()
	cfg, err := s.r.ICEServers(ctx, s.ep, s.opts.ClientID)
	c := s.check(StepICEConfig, name, metric, t0, time.Now())
	if err != nil {
		c.Status, c.Error, c.Fix = StatusFail, err.Error(), s.fixFor(err, "kinesisvideo:GetIceServerConfig")
		return c
	}
	s.mu.Lock()
	s.ice, s.iceOK = cfg, true
	s.mu.Unlock()
	turn, uris := 0, 0
	var ttl time.Duration
	for _, sv := range cfg.Servers {
		if sv.Username == "" {
			continue
		}
		turn++
		uris += len(sv.URLs)
		if d := sv.Expires.Sub(cfg.FetchedAt).Round(time.Second); ttl == 0 || d < ttl {
			ttl = d
		}
	}
	c.Detail = fmt.Sprintf("%d TURN servers, %d URIs, Ttl %d s", turn, uris, int(ttl/time.Second))
	if turn == 0 {
		c.Status, c.Error = StatusFail, "the answer lists no TURN server"
		c.Fix = "peers behind symmetric NATs will not connect: check the channel's region serves TURN"
		return c
	}
	c.Status = StatusPass
	slow(&c)
	return c
}

// checkConnect opens the WSS connection and closes it again.
func (s *state) checkConnect(ctx context.Context) Check {
	const name, metric = "connect", "connectCallTime"
	if s.credsBad {
		return s.skipped(StepConnect, name, metric, "needs credentials the service accepts")
	}
	if !s.epOK {
		return s.skipped(StepConnect, name, metric, "no WSS endpoint")
	}
	action := "kinesisvideo:ConnectAsViewer"
	clientID := s.opts.ClientID
	if s.opts.Role == channel.RoleMaster {
		action, clientID = "kinesisvideo:ConnectAsMaster", ""
	}
	ep := s.ep.WSS
	opts := signaling.Options{
		Role: s.opts.Role, ChannelARN: s.arn.String(), ClientID: clientID, Region: s.arn.Region,
		Credentials: s.opts.Config.Credentials, HTTPClient: s.opts.HTTPClient, Clock: s.r.Clock(),
		Endpoint:    func(context.Context) (string, error) { return ep, nil },
		DialTimeout: s.opts.StepTimeout, Logger: s.opts.Logger,
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.StepTimeout)
	defer cancel()
	t0 := time.Now()
	cl, err := signaling.Dial(ctx, opts)
	c := s.check(StepConnect, name, metric, t0, time.Now())
	if err != nil {
		c.Status, c.Error = StatusFail, err.Error()
		var he *signaling.HandshakeError
		switch {
		case errors.As(err, &he) && (he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusUnauthorized):
			// §12 item 1: the 403 names no cause. The control-plane calls
			// signed with the same credentials passed, so the key, the
			// token and the clock are good: what is left is the permission.
			c.Fix = fmt.Sprintf("allow %s on %s in the IAM policy of this credential: the control-plane calls passed with the same credentials, so the 403 at the upgrade is the missing permission", action, s.arn.String())
		case errors.As(err, &he) && he.StatusCode == http.StatusNotFound:
			c.Fix = "the WSS endpoint does not serve this channel: run again (endpoints are fetched fresh) or check the channel still exists"
		case errors.As(err, &he) && he.ErrorType == "ClientLimitExceededException":
			c.Fix = "too many connections to this channel (3 per second, 10 viewers): wait and try again, or close other viewers"
		default:
			c.Fix = "check that outbound TCP 443 to the WSS endpoint is open (proxies must pass WebSocket upgrades)"
		}
		return c
	}
	_ = cl.Close()
	s.mu.Lock()
	s.connectOK = true
	s.mu.Unlock()
	c.Status = StatusPass
	c.Detail = "WebSocket open as " + s.opts.Role.String()
	if clientID != "" {
		c.Detail += " (client id " + clientID + ")"
	}
	return c
}

// turnServers returns the TURN servers of the ICE config.
func turnServers(cfg resolve.ICEConfig) []resolve.ICEServer {
	var out []resolve.ICEServer
	for _, sv := range cfg.Servers {
		if sv.Username != "" {
			out = append(out, sv)
		}
	}
	return out
}
