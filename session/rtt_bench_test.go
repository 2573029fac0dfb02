package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/resolve"
	"github.com/kvsrtc/kvsrtc/session"
)

// BenchmarkFirstFrameRTT is the round-trip budget of a viewer's first
// frame with every client 25 or 50 ms from the emulator (its latency mode:
// a round trip to the service costs 50 or 100 ms), cold and warm. The peers
// still meet on loopback, so ICE and DTLS pay no latency here; relaying
// them (ForceTURN) would cost them 2× the service's RTT. It reports the
// median time to first frame in RTTs (RTT/op) and each phase of the
// viewer's timeline in RTTs (median): what the budget counts
// (GetSignalingChannelEndpoint 3, GetIceServerConfig ∥ WSS connect 3,
// offer → answer 1 + the master's own work).
func BenchmarkFirstFrameRTT(b *testing.B) {
	for _, rtt := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
		for _, warm := range []bool{false, true} {
			name := fmt.Sprintf("rtt%d/cold", rtt.Milliseconds())
			if warm {
				name = fmt.Sprintf("rtt%d/warm", rtt.Milliseconds())
			}
			b.Run(name, func(b *testing.B) {
				opts := unlimited
				opts.Latency = rtt / 2
				v := newEnvWith(b, "rtt", opts)
				liveMasterB(b, v)
				shared := v.options().Resolver
				if warm { // fill the shared cache once
					runViewerOnce(b, v, shared, "warmup")
				}
				phases := map[string][]float64{}
				var ttff []float64
				n := 0
				for b.Loop() {
					r := v.options().Resolver
					if warm {
						r = shared
					}
					d, tl := runViewerOnce(b, v, r, fmt.Sprintf("rtt-%d", n))
					ttff = append(ttff, float64(d)/float64(rtt))
					for _, s := range tl.Steps() {
						phases[s.Name] = append(phases[s.Name], s.Ms/float64(rtt.Milliseconds()))
					}
					n++
				}
				b.ReportMetric(median(ttff), "RTT/op")
				for _, step := range []string{session.StepEndpoints, session.StepICEServers, session.StepConnect,
					session.StepAnswer, session.StepICEConnected, session.StepDTLSConnected, session.StepFirstVideo} {
					if xs := phases[step]; len(xs) > 0 {
						b.ReportMetric(median(xs), step+"-RTT")
					}
				}
			})
		}
	}
}

// runViewerOnce runs a viewer with resolver r until its first video frame
// and returns how long it took and its timeline.
func runViewerOnce(b *testing.B, v *env, r *resolve.Resolver, id string) (time.Duration, *session.Timeline) {
	b.Helper()
	o := v.options()
	o.Resolver = r
	start := time.Now()
	vw, err := session.NewViewer(session.ViewerOptions{Options: o, ClientID: id, VideoFrames: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = vw.Run(ctx)
	cancel()
	d := time.Since(start)
	vw.Close()
	if err != nil {
		b.Fatal(err)
	}
	return d, vw.Timeline()
}
