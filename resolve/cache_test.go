package resolve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/resolve"
)

// A second run (a new Resolver on the same cache dir) makes no call at all.
func TestWarmCacheMakesNoCalls(t *testing.T) {
	e, cfg := start(t, emulator.Options{ShuffleEndpoints: true})
	arn := createChannel(t, e, "warm")
	dir := t.TempDir()
	ctx := context.Background()
	first, err := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)}).Resolve(ctx, arn, channel.RoleViewer, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if first.Endpoints.FromCache || first.ICE.FromCache {
		t.Fatal("cold run came from cache")
	}
	before := e.TotalRequests()
	second, err := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)}).Resolve(ctx, arn, channel.RoleViewer, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if n := e.TotalRequests() - before; n != 0 {
		t.Errorf("warm run made %d calls, want 0", n)
	}
	if !second.Endpoints.FromCache || !second.ICE.FromCache {
		t.Errorf("warm run not from cache: %v %v", second.Endpoints.FromCache, second.ICE.FromCache)
	}
	if second.Endpoints.WSS != first.Endpoints.WSS || second.ICE.Servers[1].Credential != first.ICE.Servers[1].Credential {
		t.Error("warm run differs from cold run")
	}
	// The other role is a different key.
	if _, err := resolve.New(cfg, resolve.Options{Cache: resolve.NewFileCache(dir, nil, nil)}).Endpoints(ctx, arn, channel.RoleMaster); err != nil {
		t.Fatal(err)
	}
	if n := e.Requests("GetSignalingChannelEndpoint"); n != 2 {
		t.Errorf("%d GetSignalingChannelEndpoint calls, want 2 (one per role)", n)
	}
	info, err := os.Stat(filepath.Join(dir, resolve.CacheFileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("cache file mode %v, want 0600", perm)
	}
}

// ICE servers are fetched again once their Ttl less the margin has passed;
// endpoints last their own lifetime.
func TestICEExpiry(t *testing.T) {
	e, cfg := start(t, emulator.Options{IceTTL: 60 * time.Second})
	arn := createChannel(t, e, "expiry")
	clk := newFakeClock()
	r := resolve.New(cfg, resolve.Options{Now: clk.Now, Cache: resolve.NewFileCache(t.TempDir(), clk.Now, nil)})
	ctx := context.Background()
	resolveOnce := func() resolve.Result {
		t.Helper()
		res, err := r.Resolve(ctx, arn, channel.RoleMaster, "")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	counts := func(wantEP, wantICE int64) {
		t.Helper()
		if ep, ice := e.Requests("GetSignalingChannelEndpoint"), e.Requests("GetIceServerConfig"); ep != wantEP || ice != wantICE {
			t.Errorf("calls: %d GetSignalingChannelEndpoint, %d GetIceServerConfig; want %d, %d", ep, ice, wantEP, wantICE)
		}
	}
	res := resolveOnce()
	if want := res.ICE.FetchedAt.Add(30 * time.Second); !res.ICE.Expires.Equal(want) {
		t.Errorf("ICE expires %v, want fetched + 60 s − 30 s", res.ICE.Expires)
	}
	clk.Advance(29 * time.Second)
	resolveOnce()
	counts(1, 1)
	clk.Advance(2 * time.Second) // past Ttl − margin
	if res := resolveOnce(); res.ICE.FromCache || !res.Endpoints.FromCache {
		t.Errorf("after the ICE Ttl: ICE from cache %v, endpoints from cache %v", res.ICE.FromCache, res.Endpoints.FromCache)
	}
	counts(1, 2)
	clk.Advance(resolve.DefaultEndpointTTL)
	resolveOnce()
	counts(2, 3)
}

// Cached endpoints that fail on first use are dropped and fetched again.
func TestStaleEndpointsRefetched(t *testing.T) {
	e, cfg := start(t, emulator.Options{})
	arn := createChannel(t, e, "stale")
	dir := t.TempDir()
	ctx := context.Background()
	cache := resolve.NewFileCache(dir, nil, nil)
	// What an earlier run cached: an HTTPS endpoint nobody listens on.
	stale := resolve.Endpoints{ChannelARN: arn.String(), Role: channel.RoleViewer, HTTPS: "https://127.0.0.1:1/r-00000000",
		WSS: "wss://127.0.0.1:1/v-00000000", FetchedAt: time.Now(), Expires: time.Now().Add(time.Hour)}
	data, _ := json.Marshal(stale)
	key := "url=" + e.URL() + "|endpoints|aws|us-west-2|" + arn.String() + "|VIEWER" // scoped by the endpoint override
	if err := cache.Store(ctx, key, resolve.CacheEntry{Expires: stale.Expires, Value: data}); err != nil {
		t.Fatal(err)
	}
	r := resolve.New(cfg, resolve.Options{Cache: cache})
	ep, err := r.Endpoints(ctx, arn, channel.RoleViewer)
	if err != nil || !ep.FromCache || ep.HTTPS != stale.HTTPS {
		t.Fatalf("planted entry not used (key format changed?): %+v, %v", ep, err)
	}
	res, err := r.Resolve(ctx, arn, channel.RoleViewer, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Endpoints.FromCache || res.Endpoints.HTTPS == stale.HTTPS {
		t.Errorf("stale endpoints kept: %+v", res.Endpoints)
	}
	if n := e.Requests("GetSignalingChannelEndpoint"); n != 1 {
		t.Errorf("%d GetSignalingChannelEndpoint calls, want 1", n)
	}
	// Invalidate drops them from the file too.
	if err := r.Invalidate(ctx, arn, channel.RoleUnknown); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := cache.Load(ctx, key); ok {
		t.Error("entry still in the file after Invalidate")
	}
}

// Writers in different "processes" (separate FileCache values, separate
// file descriptors) merge, and a broken file is replaced.
func TestFileCacheSharedAndBroken(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(dir, resolve.CacheFileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	exp := time.Now().Add(time.Hour)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := resolve.NewFileCache(dir, nil, nil)
			for i := range each {
				errs <- c.Store(ctx, fmt.Sprintf("k|%d|%d", w, i), resolve.CacheEntry{Expires: exp, Value: json.RawMessage(`"v"`)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := resolve.NewFileCache(dir, nil, nil)
	for w := range writers {
		for i := range each {
			if _, ok, _ := c.Load(ctx, fmt.Sprintf("k|%d|%d", w, i)); !ok {
				t.Errorf("entry %d/%d lost", w, i)
			}
		}
	}
	// Expired entries are dropped on the next write.
	if err := c.Store(ctx, "old", resolve.CacheEntry{Expires: time.Now().Add(-time.Second), Value: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(ctx, "new", resolve.CacheEntry{Expires: exp, Value: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Load(ctx, "old"); ok {
		t.Error("expired entry kept")
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestNoCache(t *testing.T) {
	e, cfg := start(t, emulator.Options{})
	arn := createChannel(t, e, "nocache")
	r := resolve.New(cfg, resolve.Options{NoCache: true, Cache: resolve.NewFileCache(t.TempDir(), nil, nil)})
	for range 2 {
		if _, err := r.Resolve(context.Background(), arn, channel.RoleMaster, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Requests("GetSignalingChannelEndpoint") + e.Requests("GetIceServerConfig"); n != 4 {
		t.Errorf("%d calls, want 4", n)
	}
}
