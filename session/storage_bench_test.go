package session_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// BenchmarkStorageRecovery times how long an ingesting master is without a
// recording session when the service ends one early: from
// Emulator.EndStorageSession to the next session's peer connection up
// (the SCTP close is seen, JoinStorageSession, offer, answer, ICE, DTLS).
// It reports ms-to-recording-again.
func BenchmarkStorageRecovery(b *testing.B) {
	v := newEnvWith(b, "bench-ingest", unlimited)
	enableStorage(b, v, 1, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	video, audio := demoSource(b, media.CodecH264, true, false), demoSource(b, media.CodecOpus, true, false)
	connected := make(chan struct{}, 16)
	master, err := session.NewMaster(session.MasterOptions{Options: v.options(), Video: video, Audio: audio,
		Storage: &session.StorageOptions{OnEvent: func(ev session.StorageEvent) {
			if ev.Kind == session.StorageEventConnected {
				connected <- struct{}{}
			}
		}}})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer master.Close()
	defer cancel()
	for _, s := range []*media.Source{video, audio} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = master.Run(ctx)
	}()
	// wait returns once the master saw its session connect and the
	// emulator records it (its side may come up a moment later).
	wait := func() {
		select {
		case <-connected:
		case <-time.After(20 * time.Second):
			b.Fatal("no storage session")
		}
		waitFor(b, 5*time.Second, "the emulator recording", func() bool {
			for _, s := range v.e.StorageSessions(v.arn.String()) {
				if s.Recording {
					return true
				}
			}
			return false
		})
	}
	wait()
	var total time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if !v.e.EndStorageSession(v.arn.String()) {
			b.Fatal("no session to end")
		}
		wait()
		total += time.Since(start)
		n++
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms-to-recording-again")
}
