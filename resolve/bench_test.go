package resolve_test

import (
	"context"
	"testing"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// BenchmarkResolve measures a cold resolution (GetSignalingChannelEndpoint
// and GetIceServerConfig over TLS on loopback) against a warm one (memory
// cache), and a warm one from the file cache as a new process sees it.
func BenchmarkResolve(b *testing.B) {
	e, cfg := start(b, emulator.Options{})
	arn := createChannel(b, e, "bench")
	ctx := context.Background()
	run := func(b *testing.B, newResolver func() *resolve.Resolver) {
		r := newResolver()
		before := e.TotalRequests()
		for b.Loop() {
			if _, err := r.Resolve(ctx, arn, channel.RoleViewer, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(e.TotalRequests()-before)/float64(b.N), "calls/op")
	}
	b.Run("cold", func(b *testing.B) {
		run(b, func() *resolve.Resolver { return resolve.New(cfg, resolve.Options{NoCache: true}) })
	})
	b.Run("warm-memory", func(b *testing.B) {
		r := resolve.New(cfg, resolve.Options{})
		if _, err := r.Resolve(ctx, arn, channel.RoleViewer, "bench"); err != nil {
			b.Fatal(err)
		}
		run(b, func() *resolve.Resolver { return r })
	})
	b.Run("warm-file", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)}).Resolve(ctx, arn, channel.RoleViewer, "bench"); err != nil {
			b.Fatal(err)
		}
		// A new Resolver per op: its memory is empty, so it reads the file.
		r := (*resolve.Resolver)(nil)
		newR := func() *resolve.Resolver {
			return resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)})
		}
		before := e.TotalRequests()
		for b.Loop() {
			r = newR()
			if _, err := r.Resolve(ctx, arn, channel.RoleViewer, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(e.TotalRequests()-before)/float64(b.N), "calls/op")
	})
}
