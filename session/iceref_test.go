package session_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

// turnOnly makes a session use the emulator's TURN/UDP relay alone, so it
// connects only with TURN credentials the relay still accepts.
func turnOnly(o *session.Options) {
	o.ForceTURN, o.RelayTransport = true, session.RelayUDP
}

// TestICEServersFetchedAfterTtl moves the clock of the emulator (which
// mints TURN credentials and refuses expired ones) and of the master's
// resolver past the ICE servers' Ttl, without waiting for it. A viewer that
// joins then connects over TURN only: the master must fetch ICE servers
// again for it, since its first TURN credentials are refused.
func TestICEServersFetchedAfterTtl(t *testing.T) {
	var shift atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	const ttl = 40 * time.Second
	v := newEnvWith(t, "ttl", emulator.Options{IceTTL: ttl, Clock: clock})
	r := resolve.New(v.cfg, resolve.Options{STUNURL: "stun:" + v.e.TURN().UDPAddr().String(), Now: clock})
	m := liveMaster(t, v, func(o *session.MasterOptions) {
		o.Resolver = r
		turnOnly(&o.Options)
	})
	waitFor(t, 10*time.Second, "master's ICE servers", func() bool { return m.Timeline().Has(session.StepICEServers) })
	before := v.e.Requests("GetIceServerConfig")

	// Within the Ttl the master's servers serve a viewer as they are.
	viewFrames(t, v, "early", 5, func(o *session.ViewerOptions) { turnOnly(&o.Options) })
	if got := m.Stats().ICERefreshes; got != 0 {
		t.Fatalf("master fetched ICE servers again %d times within their Ttl", got)
	}

	shift.Store(int64(ttl + 20*time.Second)) // inside the 5 min signature window
	viewFrames(t, v, "late", 5, func(o *session.ViewerOptions) { turnOnly(&o.Options) })
	if got := m.Stats().ICERefreshes; got < 1 {
		t.Errorf("master's ICE servers were not fetched again after their Ttl (refreshes %d)", got)
	}
	// The two viewers' fetches, and at least one of the master's.
	if got := v.e.Requests("GetIceServerConfig") - before; got < 3 {
		t.Errorf("GetIceServerConfig called %d times after the master's first, want at least 3", got)
	}
}

// TestICEServersFetchedOnReconnectICEServer sends RECONNECT_ICE_SERVER to
// the channel: the master fetches ICE servers again, reconnects, and a
// viewer that connects afterwards (over TURN only) gets media.
func TestICEServersFetchedOnReconnectICEServer(t *testing.T) {
	v := newEnv(t, "reconnect-ice")
	m := liveMaster(t, v, func(o *session.MasterOptions) { turnOnly(&o.Options) })
	waitFor(t, 10*time.Second, "master's ICE servers", func() bool { return m.Timeline().Has(session.StepICEServers) })
	// The master's WSS open (StepConnect) does not mean the emulator has
	// registered the connection yet: it does so after the 101 is written.
	// Wait for the emulator's side, or the frame reaches no one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := v.e.WaitConnected(ctx, v.arn.String(), channel.RoleMaster, ""); err != nil {
		t.Fatal(err)
	}
	before := v.e.Requests("GetIceServerConfig")
	if n := v.e.ReconnectICEServer(v.arn.String()); n != 1 {
		t.Fatalf("RECONNECT_ICE_SERVER reached %d connections, want the master's", n)
	}
	waitFor(t, 10*time.Second, "ICE servers fetched again and signaling reconnected", func() bool {
		s := m.Stats()
		return s.ICERefreshes >= 1 && s.Signaling.ICERefreshes == 1 && s.Signaling.Reconnects >= 1
	})
	if got := v.e.Requests("GetIceServerConfig"); got <= before {
		t.Errorf("GetIceServerConfig calls %d, before RECONNECT_ICE_SERVER %d", got, before)
	}
	viewFrames(t, v, "after", 10, func(o *session.ViewerOptions) { turnOnly(&o.Options) })
}
