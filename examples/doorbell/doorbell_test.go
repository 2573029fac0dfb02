package doorbell_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/examples/doorbell"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/session/sessiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ring connects a viewer, rings once it can and returns the answer.
func ring(t *testing.T, ctx context.Context, opts session.Options, id string) string {
	t.Helper()
	open := make(chan struct{})
	answers := make(chan string, 1)
	opts.OnDataChannelOpen = func(string) { close(open) }
	opts.OnMessage = func(_ string, msg session.DataMessage) { answers <- string(msg.Data) }
	v, err := session.NewViewer(session.ViewerOptions{Options: opts, ClientID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	go v.Run(ctx)
	select {
	case <-open:
	case <-ctx.Done():
		t.Fatalf("%s: the data channel never opened", id)
	}
	if err := v.SendText("ring"); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		return a
	case <-ctx.Done():
		t.Fatalf("%s: no answer to the ring", id)
	}
	return ""
}

// The doorbell answers a ring; after the service's GO_AWAY it reconnects
// by itself (the test waits for that event, no sleep) and answers the next
// visitor.
func TestDoorbellSurvivesGoAway(t *testing.T) {
	e := emulatortest.Start(t, emulator.Options{})
	arn := emulatortest.Channel(t, e, "doorbell")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	video, err := media.NewSource(media.DemoH264(), media.SourceOptions{Codec: media.CodecH264, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	bell, err := doorbell.New(sessiontest.Options(e, arn), video)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = video.Run(ctx) }()
	go bell.Run(ctx)
	defer func() { bell.Close(); cancel(); <-done }()

	conn, err := e.WaitConnected(ctx, arn.String(), channel.RoleMaster, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ring(t, ctx, sessiontest.Options(e, arn), "visitor-1"); got != "ding 1" {
		t.Fatalf("first ring answered %q", got)
	}

	e.GoAway(arn.String()) // the service is about to end the connection
	if _, err := e.WaitReconnected(ctx, conn); err != nil {
		t.Fatalf("the doorbell did not reconnect: %v", err)
	}
	if got := ring(t, ctx, sessiontest.Options(e, arn), "visitor-2"); got != "ding 2" {
		t.Fatalf("ring after GO_AWAY answered %q", got)
	}
	if bell.Rings() != 2 {
		t.Errorf("%d rings counted", bell.Rings())
	}
}
