package resolve_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// A warm cache answers only for the endpoint override it was filled
// through: pointed at another (here a port nobody listens on), the
// resolver calls it, and reports it unreachable, instead of handing out
// the first endpoint's answers.
func TestCacheScopedByEndpointOverride(t *testing.T) {
	e, cfg := start(t, emulator.Options{})
	arn := createChannel(t, e, "scoped")
	cache := resolve.NewFileCache(t.TempDir(), nil, nil)
	ctx := context.Background()
	if _, err := resolve.New(cfg, resolve.Options{Cache: cache}).Endpoints(ctx, arn, channel.RoleViewer); err != nil {
		t.Fatal(err)
	}
	warm, err := resolve.New(cfg, resolve.Options{Cache: cache}).Endpoints(ctx, arn, channel.RoleViewer)
	if err != nil || !warm.FromCache {
		t.Fatalf("same endpoint: from cache %v, %v", warm.FromCache, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	other := cfg.Copy()
	other.BaseEndpoint = aws.String(closed)
	ep, err := resolve.New(other, resolve.Options{Cache: cache}).Endpoints(ctx, arn, channel.RoleViewer)
	if err == nil {
		t.Fatalf("another endpoint override got %+v (from cache %v)", ep, ep.FromCache)
	}
	if !errors.Is(err, resolve.ErrUnreachable) {
		t.Errorf("error %v, want ErrUnreachable", err)
	}
}
