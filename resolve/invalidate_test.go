package resolve_test

import (
	"context"
	"testing"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// InvalidateICE drops the ICE servers only: the next resolution calls
// GetIceServerConfig again and not GetSignalingChannelEndpoint.
func TestInvalidateICEKeepsEndpoints(t *testing.T) {
	e, cfg := start(t, emulator.Options{})
	arn := createChannel(t, e, "ice-only")
	ctx := context.Background()
	r := resolve.New(cfg, resolve.Options{})
	if _, err := r.Resolve(ctx, arn, channel.RoleMaster, ""); err != nil {
		t.Fatal(err)
	}
	eps, ices := e.Requests("GetSignalingChannelEndpoint"), e.Requests("GetIceServerConfig")
	if err := r.InvalidateICE(ctx, arn, channel.RoleMaster); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, arn, channel.RoleMaster, ""); err != nil {
		t.Fatal(err)
	}
	if d := e.Requests("GetSignalingChannelEndpoint") - eps; d != 0 {
		t.Errorf("%d GetSignalingChannelEndpoint calls after InvalidateICE, want 0", d)
	}
	if d := e.Requests("GetIceServerConfig") - ices; d != 1 {
		t.Errorf("%d GetIceServerConfig calls after InvalidateICE, want 1", d)
	}
	// Invalidate drops both.
	if err := r.Invalidate(ctx, arn, channel.RoleMaster); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, arn, channel.RoleMaster, ""); err != nil {
		t.Fatal(err)
	}
	if d := e.Requests("GetSignalingChannelEndpoint") - eps; d != 1 {
		t.Errorf("%d GetSignalingChannelEndpoint calls after Invalidate, want 1", d)
	}
}
