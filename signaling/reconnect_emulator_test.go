package signaling_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// fastBackoff keeps reconnection quick enough for a bounded test.
func fastBackoff(o *signaling.Options) {
	o.Backoff = signaling.Backoff{Min: 20 * time.Millisecond, Max: 250 * time.Millisecond}
}

// exchange proves messages flow both ways: an offer from the viewer reaches
// the master with the viewer's id, and the master's answer comes back.
func exchange(t *testing.T, ctx context.Context, master, viewer *signaling.Client, viewerID, tag string, skip ...wire.MessageType) {
	t.Helper()
	offer, answer := sdp("offer", tag), sdp("answer", tag)
	if _, err := viewer.SendOffer(ctx, "", offer); err != nil {
		t.Fatal(err)
	}
	m := next(t, ctx, master, wire.MessageTypeSDPOffer, skip...)
	if sd, err := m.SessionDescription(); err != nil || sd != offer || m.SenderClientID != viewerID {
		t.Fatalf("%s: offer %+v from %q: %v", tag, sd, m.SenderClientID, err)
	}
	if _, err := master.SendAnswer(ctx, viewerID, answer); err != nil {
		t.Fatal(err)
	}
	a := next(t, ctx, viewer, wire.MessageTypeSDPAnswer, skip...)
	if sd, err := a.SessionDescription(); err != nil || sd != answer || !a.FromMaster() {
		t.Fatalf("%s: answer %+v from %q: %v", tag, sd, a.SenderClientID, err)
	}
}

// An emulator with a data dir is stopped and started again on the same dir
// mid-session. A Go master and a Go viewer notice, retry on their own (the
// test only swaps which emulator the endpoint lookups reach, in case the old
// port was taken meanwhile) and exchange messages again, within 15 s.
func TestEmulatorRestartMidSession(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e1, err := emulator.Start(context.Background(), emulator.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e1.Close() })
	et := newEmuTarget(t, e1)
	arn := et.createChannel(t, ctx, "restart-mid-session", 0)

	ms, vs := newStates(), newStates()
	master := et.dialGo(t, ctx, arn, channel.RoleMaster, "", fastBackoff, ms.record)
	viewer := et.dialGo(t, ctx, arn, channel.RoleViewer, "restart-viewer", fastBackoff, vs.record)
	exchange(t, ctx, master, viewer, "restart-viewer", "before")

	oldURL := e1.URL()
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	// Both notice the shutdown (GO_AWAY, then 1001) before anything else.
	ms.wait(t, ctx, "master", signaling.StateReconnecting)
	vs.wait(t, ctx, "viewer", signaling.StateReconnecting)

	e2 := emulatortest.Start(t, emulator.Options{DataDir: dir})
	if e2.URL() != oldURL {
		t.Logf("port not reused across the restart (%s → %s); endpoints are fetched again", oldURL, e2.URL())
	}
	et.cur.Store(e2)
	ms.wait(t, ctx, "master", signaling.StateConnected)
	vs.wait(t, ctx, "viewer", signaling.StateConnected)
	// The GO_AWAY of the shutdown is on Messages before anything new.
	exchange(t, ctx, master, viewer, "restart-viewer", "after", wire.MessageTypeGoAway)
	if r := master.Stats().Reconnects; r != 1 {
		t.Errorf("master reconnects = %d, want 1", r)
	}
	if e2.Requests("ConnectAsMaster") != 1 || e2.Requests("ConnectAsViewer") != 1 {
		t.Errorf("connects on the restarted emulator: master %d viewer %d, want 1 each",
			e2.Requests("ConnectAsMaster"), e2.Requests("ConnectAsViewer"))
	}
}

// GO_AWAY from the service (e.GoAway) makes the Go clients reconnect by
// themselves: exactly one new ConnectAsMaster and ConnectAsViewer each, a
// Refresh with RefreshGoAway, and then messages flow again.
func TestEmulatorGoAwayReconnects(t *testing.T) {
	// Unlimited connects, so the counts below are exact: with the service's
	// 3/s a fourth connect in one second is refused and retried.
	e := emulatortest.Start(t, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	et := newEmuTarget(t, e)
	arn := et.createChannel(t, ctx, "go-away", 0)

	ms, vs := newStates(), newStates()
	var goAways atomic.Int64
	refresh := func(o *signaling.Options) {
		o.Refresh = func(_ context.Context, r signaling.RefreshReason) error {
			if r == signaling.RefreshGoAway {
				goAways.Add(1)
			}
			return nil
		}
	}
	master := et.dialGo(t, ctx, arn, channel.RoleMaster, "", fastBackoff, ms.record, refresh)
	viewer := et.dialGo(t, ctx, arn, channel.RoleViewer, "goaway-viewer", fastBackoff, vs.record, refresh)
	exchange(t, ctx, master, viewer, "goaway-viewer", "before")
	m0, v0 := e.Requests("ConnectAsMaster"), e.Requests("ConnectAsViewer")

	if n := e.GoAway(arn); n != 2 {
		t.Fatalf("GO_AWAY reached %d connections, want 2", n)
	}
	next(t, ctx, master, wire.MessageTypeGoAway)
	next(t, ctx, viewer, wire.MessageTypeGoAway)
	ms.wait(t, ctx, "master", signaling.StateReconnecting)
	vs.wait(t, ctx, "viewer", signaling.StateReconnecting)
	ms.wait(t, ctx, "master", signaling.StateConnected)
	vs.wait(t, ctx, "viewer", signaling.StateConnected)

	exchange(t, ctx, master, viewer, "goaway-viewer", "after")
	if m, v := e.Requests("ConnectAsMaster")-m0, e.Requests("ConnectAsViewer")-v0; m != 1 || v != 1 {
		t.Errorf("connects after GO_AWAY: master %d viewer %d, want 1 each", m, v)
	}
	if g := goAways.Load(); g != 2 {
		t.Errorf("Refresh(RefreshGoAway) calls = %d, want 2 (one per client)", g)
	}
	if r := master.Stats().Reconnects + viewer.Stats().Reconnects; r != 2 {
		t.Errorf("reconnects = %d, want 2", r)
	}
}

// barrierPayload is larger than the TTL test's emulator accepts, and well
// under the client's own 10,000-byte limit.
const barrierPayload = 4096

// barrier returns once the emulator has handled every frame c sent before:
// a frame it refuses comes back as a STATUS_RESPONSE, and the service
// handles one connection's frames in order.
func barrier(t *testing.T, ctx context.Context, c *signaling.Client, id string) {
	t.Helper()
	big := wire.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host " + strings.Repeat("x", barrierPayload)}
	if _, err := c.SendICECandidate(ctx, "", big, signaling.WithCorrelationID(id)); err != nil {
		t.Fatal(err)
	}
	st := next(t, ctx, c, wire.MessageTypeStatusResponse)
	if st.StatusResponse == nil || st.StatusResponse.CorrelationID != id || st.StatusResponse.StatusCode != "400" {
		t.Fatalf("barrier %s: status %+v", id, st.StatusResponse)
	}
}

// A viewer's offer sent before the master connects is held for the
// channel's MessageTtlSeconds (5 here): a master that connects 4 s later
// gets it; one that connects 6 s later does not. The emulator's clock is
// moved instead of waiting.
func TestEmulatorQueuedOfferTTL(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)) }
	e := emulatortest.Start(t, emulator.Options{Clock: clock,
		Limits: emulator.Limits{ConnectsPerSecond: -1, MaxPayload: barrierPayload}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	et := newEmuTarget(t, e)
	arn := et.createChannel(t, ctx, "queued-ttl", 5)

	viewer := et.dialGo(t, ctx, arn, channel.RoleViewer, "early-viewer")
	early, cand := sdp("offer", "early"), candidate("40000")
	if _, err := viewer.SendOffer(ctx, "", early); err != nil {
		t.Fatal(err)
	}
	if _, err := viewer.SendICECandidate(ctx, "", cand); err != nil {
		t.Fatal(err)
	}
	barrier(t, ctx, viewer, "queued-1") // both are queued, stamped with the unmoved clock
	advance(4 * time.Second)

	master := et.dialGo(t, ctx, arn, channel.RoleMaster, "")
	m := next(t, ctx, master, wire.MessageTypeSDPOffer)
	if sd, err := m.SessionDescription(); err != nil || sd != early || m.SenderClientID != "early-viewer" {
		t.Fatalf("queued offer %+v from %q: %v", sd, m.SenderClientID, err)
	}
	if c, err := next(t, ctx, master, wire.MessageTypeICECandidate).ICECandidate(); err != nil || c.Candidate != cand.Candidate {
		t.Fatalf("queued candidate %+v: %v", c, err)
	}

	// The master leaves; the viewer's next offer waits past the TTL.
	master.Close()
	waitFor(t, ctx, "master gone from the channel", func() bool { up, _ := e.Connections(arn); return !up })
	if _, err := viewer.SendOffer(ctx, "", sdp("offer", "expired")); err != nil {
		t.Fatal(err)
	}
	barrier(t, ctx, viewer, "queued-2")
	advance(6 * time.Second)

	late := et.dialGo(t, ctx, arn, channel.RoleMaster, "")
	// A backlog is handed over before live frames, so the first frame the new
	// master sees must be this live marker, never the expired offer.
	marker := candidate("40001")
	if _, err := viewer.SendICECandidate(ctx, "", marker); err != nil {
		t.Fatal(err)
	}
	if c, err := next(t, ctx, late, wire.MessageTypeICECandidate).ICECandidate(); err != nil || c.Candidate != marker.Candidate {
		t.Fatalf("marker %+v: %v", c, err)
	}
}
