package emulator_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/emulator"
)

// fairLimits leave the per-action quotas off so only the frame budgets
// stand between a flood and the relay.
var fairLimits = emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: -1, ICEPerSecond: -1,
	FramesPerSecond: 100, ChannelFramesPerSecond: 200}

// flood has 10 viewers of ch write frames to its master as fast as they
// can until ctx ends; it returns how many frames the master received.
func flood(ctx context.Context, t *testing.T, f *wssFixture) (received *atomic.Int64, wait func()) {
	master := f.connect(t, "")
	received = new(atomic.Int64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, _, err := master.Read(ctx); err != nil {
				return
			}
			received.Add(1)
		}
	})
	for i := range 10 {
		v := f.connect(t, fmt.Sprint("flood-", i))
		wg.Go(func() {
			msg := []byte(`{"action":"ICE_CANDIDATE","messagePayload":"eyJjYW5kaWRhdGUiOiJmbG9vZCJ9"}`)
			for range 10000 {
				if v.Write(ctx, websocket.MessageText, msg) != nil {
					return
				}
			}
		})
	}
	return received, wg.Wait
}

// A channel flooded by its 10 viewers is held to its frame budget while
// another channel's messages all go through (issue 11: a flood of
// 10 × 10,000 frames lifted another channel's relay p99 from 0.7 to
// 214 ms). The bound is an upper one, from the budget and the time the
// test took, so a slow machine only makes it looser.
func TestRelayFairness(t *testing.T) {
	f := newWSSFixture(t, emulator.Options{Limits: fairLimits})
	calm := &wssFixture{e: f.e, arn: createChannel(t, newClient(f.e), "calm")}
	calm.master = wssEndpoint(t, f.e, calm.arn, types.ChannelRoleMaster)
	calm.viewer = wssEndpoint(t, f.e, calm.arn, types.ChannelRoleViewer)
	cm := calm.connect(t, "")
	cv := calm.connect(t, "calm-viewer")

	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	received, wait := flood(ctx, t, f)
	defer func() { cancel(); wait() }()

	const rounds = 50
	for i := range rounds {
		write(t, cv, fmt.Sprintf(`{"action":"ICE_CANDIDATE","messagePayload":"%s"}`, b64(fmt.Sprint("c", i))))
		if got := read(t, cm); got.MessagePayload != b64(fmt.Sprint("c", i)) {
			t.Fatalf("calm master, round %d: %+v", i, got)
		}
		write(t, cm, fmt.Sprintf(`{"action":"ICE_CANDIDATE","recipientClientId":"calm-viewer","messagePayload":"%s"}`, b64(fmt.Sprint("m", i))))
		if got := read(t, cv); got.MessagePayload != b64(fmt.Sprint("m", i)) {
			t.Fatalf("calm viewer, round %d: %+v", i, got)
		}
	}
	read := emulator.FramesRead(f.e) - 2*rounds // less the calm channel's
	got := received.Load()
	elapsed := time.Since(start) // after the counts: the bound only grows
	// The flooded channel's budget: 200 a second from its first connect
	// plus a burst of 200, one frame waiting per connection, and 10% for
	// the limiter's and the test's clocks.
	bound := int64(1.1*(fairLimits.ChannelFramesPerSecond*elapsed.Seconds()+fairLimits.ChannelFramesPerSecond)) + 11
	if read > bound || got > bound {
		t.Fatalf("flooded channel: %d frames read, %d delivered in %v; its budget allows at most %d", read, got, elapsed, bound)
	}
	if emulator.ThrottledReads(f.e) == 0 {
		t.Fatal("no flooding connection waited for its frame budget")
	}
	t.Logf("flood: %d frames read, %d delivered in %v (bound %d); calm channel: %d round trips", read, got, elapsed, bound, rounds)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
