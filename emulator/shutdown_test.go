package emulator_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
)

// TestShutdown: a client that reads gets GO_AWAY and a 1001 close, and
// Shutdown returns nil; a client that stops reading cannot hold Shutdown
// past its deadline (Shutdown says it cut something), nor Close.
func TestShutdown(t *testing.T) {
	start := func(t *testing.T) (*emulator.Emulator, *websocket.Conn) {
		e, err := emulator.Start(context.Background(), emulator.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		arn := createChannel(t, newClient(e), "bye")
		c, _, err := dialWSS(context.Background(), e, presign(t, e, wssEndpoint(t, e, arn, types.ChannelRoleViewer), presignOpts{arn: arn, clientID: "v"}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if _, err := e.WaitConnected(context.Background(), arn, channel.RoleViewer, "v"); err != nil {
			t.Fatal(err)
		}
		return e, c
	}
	t.Run("graceful", func(t *testing.T) {
		e, c := start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- e.Shutdown(ctx) }()
		if got := read(t, c); got.MessageType != "GO_AWAY" {
			t.Fatalf("want GO_AWAY, got %+v", got)
		}
		if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("want 1001, got %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if _, err := e.WaitConnected(ctx, "any", channel.RoleMaster, ""); !errors.Is(err, emulator.ErrClosed) {
			t.Errorf("WaitConnected after Shutdown: %v, want ErrClosed", err)
		}
	})
	t.Run("stalled client, Shutdown", func(t *testing.T) {
		e, _ := start(t) // the client never reads: it never answers the close
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		err := e.Shutdown(ctx)
		t.Logf("Shutdown took %v", time.Since(t0))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a stalled client: %v, want the deadline's error", err)
		}
	})
	t.Run("stalled client, Close", func(t *testing.T) {
		e, _ := start(t)
		if err := e.Close(); err != nil {
			t.Fatalf("Close with a stalled client: %v", err)
		}
	})
}
