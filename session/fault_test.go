package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
)

// TestMasterComesBackAfterFaults is a user's fault test, written with the
// emulator's events and no sleep: GO_AWAY, then a dropped connection; each
// time the test waits for the master to reconnect (WaitReconnected), and a
// viewer then gets video. The OnConnection hook saw every connection open
// and end, and Connections agrees with it.
func TestMasterComesBackAfterFaults(t *testing.T) {
	events := make(chan emulator.ConnectionEvent, 64)
	e := emulatortest.Start(t, emulator.Options{OnConnection: func(ev emulator.ConnectionEvent) {
		if ev.Role == channel.RoleMaster {
			events <- ev
		}
	}})
	arn := emulatortest.Channel(t, e, "faults")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	video := demoSource(t, media.CodecH264, true, false)
	m, err := session.NewMaster(session.MasterOptions{Options: sessiontest.Options(e, arn), Video: video})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- video.Run(ctx) }()
	go func() { done <- m.Run(ctx) }()

	c1, err := e.WaitConnected(ctx, arn.String(), channel.RoleMaster, "")
	if err != nil {
		t.Fatal(err)
	}
	if e.GoAway(arn.String()) != 1 {
		t.Fatal("GO_AWAY reached no connection")
	}
	c2, err := e.WaitReconnected(ctx, c1)
	if err != nil {
		t.Fatalf("after GO_AWAY: %v", err)
	}
	if e.DropConnections(arn.String()) != 1 {
		t.Fatal("the drop reached no connection")
	}
	c3, err := e.WaitReconnected(ctx, c2)
	if err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	if !(c1.Conn < c2.Conn && c2.Conn < c3.Conn) || c1.Reconnect || !c2.Reconnect || !c3.Reconnect {
		t.Errorf("connections %v, %v, %v: want three, newer each time, the last two reconnections", c1, c2, c3)
	}
	if master, _ := e.Connections(arn.String()); !master {
		t.Error("Connections: no master after it reconnected")
	}

	vw, err := session.NewViewer(session.ViewerOptions{Options: sessiontest.Options(e, arn), ClientID: "after-faults", VideoFrames: 10})
	if err != nil {
		t.Fatal(err)
	}
	viewerSeen := make(chan emulator.ConnectionEvent, 1)
	go func() {
		ev, err := e.WaitConnected(ctx, arn.String(), channel.RoleViewer, "after-faults")
		if err != nil {
			t.Errorf("wait for the viewer: %v", err)
		}
		viewerSeen <- ev
	}()
	if err := vw.Run(ctx); err != nil {
		t.Fatalf("viewer after the faults: %v", err)
	}
	vw.Close()
	if ev := <-viewerSeen; ev.ClientID != "after-faults" || ev.Role != channel.RoleViewer || !ev.Connected {
		t.Errorf("WaitConnected for the viewer returned %v", ev)
	}

	m.Close()
	// The hook tells each connection's end after its start, and the last
	// one's end once the master has gone.
	seen := map[uint64][]bool{}
	for len(seen[c3.Conn]) < 2 {
		select {
		case ev := <-events:
			seen[ev.Conn] = append(seen[ev.Conn], ev.Connected)
		case <-ctx.Done():
			t.Fatalf("events seen %v: no end of %v", seen, c3)
		}
	}
	for _, c := range []emulator.ConnectionEvent{c1, c2, c3} {
		if got := seen[c.Conn]; len(got) != 2 || !got[0] || got[1] {
			t.Errorf("events for %v: %v, want connected then disconnected", c, got)
		}
	}
	if master, _ := e.Connections(arn.String()); master {
		t.Error("Connections: a master after it closed")
	}
	cancel()
	for range 2 {
		<-done
	}
}

// BenchmarkReconnectAfterGoAway measures how long a master takes to be
// connected again after one GO_AWAY, as a fault test sees it through the
// emulator's events (WaitReconnected): ms/reconnect. Each iteration is a
// fresh master, so the signaling client's backoff starts from its first
// step.
func BenchmarkReconnectAfterGoAway(b *testing.B) {
	e := emulatortest.Start(b, emulator.Options{Limits: emulator.Limits{ConnectsPerSecond: -1}})
	arn := emulatortest.Channel(b, e, "bench-goaway")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var total time.Duration
	n := 0
	for b.Loop() {
		m, err := session.NewMaster(session.MasterOptions{Options: sessiontest.Options(e, arn)})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := e.WaitConnected(wctx, arn.String(), channel.RoleMaster, "")
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		e.GoAway(arn.String())
		if _, err = e.WaitReconnected(wctx, c); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		n++
		wcancel()
		m.Close()
		<-done
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/reconnect")
}
