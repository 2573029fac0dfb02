package session_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/session"
)

// TestRoundTripBudget counts the round trips of a viewer's session setup
// with every client 500 ms from the emulator (its latency mode: a 1 s round
// trip to the service), so that each phase lasts a whole number of round
// trips and CPU time (milliseconds, even under -race) cannot change the
// count: each phase's duration is rounded to RTTs and checked against the
// protocol's budget (spec §4; the floor): GetSignalingChannelEndpoint
// at most 2 (TLS 1.3 + the request on a fresh connection, 1 on the one the
// master's calls left open; the TCP handshake is not delayed from user
// space), GetIceServerConfig 1, the WSS connect 2 (TLS + upgrade) side by
// side with it, offer → answer 2 (viewer → service → master and back: four
// delayed links). A phase that took a round trip more than the protocol
// needs (a second TLS handshake, a serialised call, a lost overlap) fails.
// The viewer stops once ICE connected: the peers meet on loopback, so ICE
// must take no round trip to the service at all (≤ 1 allowed).
func TestRoundTripBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ~5 s of delayed round trips")
	}
	const oneWay = 500 * time.Millisecond
	rtt := 2 * oneWay
	opts := unlimited
	opts.Latency = oneWay
	v := newEnvWith(t, "budget", opts)
	liveMasterB(t, v)
	o := v.options()
	vw, err := session.NewViewer(session.ViewerOptions{Options: o, ClientID: "budget", VideoFrames: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- vw.Run(ctx) }()
	tl := vw.Timeline()
	tick := time.NewTicker(10 * time.Millisecond) // bounded polling: the timeline has no event of its own
	defer tick.Stop()
	for !tl.Has(session.StepICEConnected) {
		select {
		case err := <-done:
			t.Fatalf("viewer ended before ICE connected: %v", err)
		case <-ctx.Done():
			t.Fatal("ICE not connected within 60 s")
		case <-tick.C:
		}
	}
	cancel()
	<-done
	rtts := func(step string) (float64, int) {
		s, ok := tl.Step(step)
		if !ok {
			t.Fatalf("no %s in %+v", step, tl.Steps())
		}
		x := s.Ms / float64(rtt.Milliseconds())
		return x, int(math.Round(x))
	}
	budget := []struct {
		step string
		max  int
	}{
		{session.StepEndpoints, 2},
		{session.StepICEServers, 1},
		{session.StepConnect, 2},
		{session.StepAnswer, 2},
	}
	for _, b := range budget {
		x, n := rtts(b.step)
		t.Logf("%-14s %.2f RTT", b.step, x)
		if n > b.max || n < 1 {
			t.Errorf("%s took %.2f RTT (%d), want 1 to %d", b.step, x, n, b.max)
		}
	}
	// The peers meet on loopback, so ICE has nothing to wait for: no relay
	// candidate's check waits for a CreatePermission round trip to the
	// (delayed) TURN server, holding the host pair's checks behind it
	// (turnperm.go; that cost 9 RTT).
	if x, n := rtts(session.StepICEConnected); n > 1 {
		t.Errorf("ICE took %.2f RTT (%d), want at most 1: checks waited on the TURN server", x, n)
	} else {
		t.Logf("%-14s %.2f RTT", session.StepICEConnected, x)
	}
	// The WSS connect runs beside GetIceServerConfig: the offer goes out
	// about 2 RTT after the endpoints, not 3.
	ep, _ := tl.Step(session.StepEndpoints)
	offer, _ := tl.Step(session.StepOfferSent)
	if n := int(math.Round((offer.EndMs - ep.EndMs) / float64(rtt.Milliseconds()))); n > 2 {
		t.Errorf("offer sent %.0f ms after the endpoints (%d RTT), want 2: the WSS connect and GetIceServerConfig overlap", offer.EndMs-ep.EndMs, n)
	}
}
