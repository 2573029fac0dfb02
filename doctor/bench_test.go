package doctor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/doctor"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// BenchmarkRun times a whole doctor run without media probes against a
// local emulator (every call real: no cache), and reports the median of
// the slowest check, which is what a user waits on beyond the run.
func BenchmarkRun(b *testing.B) {
	e, cfg, arn := newChannel(b, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	r := resolve.New(cfg, resolve.Options{NoCache: true, STUNURL: e.STUNURL()})
	var runs, slowest []float64
	for b.Loop() {
		start := time.Now()
		rep, err := doctor.Run(context.Background(), doctor.Options{Config: cfg, Resolver: r, ChannelARN: arn, NoMedia: true})
		if err != nil || !rep.OK() {
			b.Fatalf("%v %+v", err, rep.Failed())
		}
		runs = append(runs, float64(time.Since(start).Microseconds())/1000)
		m := 0.0
		for _, c := range rep.Checks {
			m = max(m, c.Ms)
		}
		slowest = append(slowest, m)
	}
	slices.Sort(runs)
	slices.Sort(slowest)
	b.ReportMetric(runs[len(runs)/2], "ms/run-median")
	b.ReportMetric(slowest[len(slowest)/2], "ms/slowest-check-median")
}
