package emulator_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
)

// BenchmarkRelayFairness measures one channel's relay round trip (viewer
// → master → viewer, p50/p99) while the 10 viewers of another channel
// flood it with ICE candidates as fast as they can, for the whole run, from
// this process (issue 11: 10 × 10,000
// frames lifted the other channel's p99 from 0.7 to 214 ms). budget=on is
// the default frame-read budgets; budget=off is without them. The
// per-action quotas are off in both, so the flood is not cut by them.
// The measured channel sends 20 round trips a second (ns/op is that pace).
//
//	go test -run '^$' -bench RelayFairness -benchtime 200x ./emulator/
func BenchmarkRelayFairness(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("budget=%v", map[bool]string{true: "on", false: "off"}[on]), func(b *testing.B) {
			lim := emulator.Limits{ConnectsPerSecond: -1, SDPPerSecond: -1, ICEPerSecond: -1}
			if !on {
				lim.FramesPerSecond, lim.ChannelFramesPerSecond = -1, -1
			}
			e := emulatortest.Start(b, emulator.Options{Limits: lim})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() { cancel(); wg.Wait() }()
			connect := func(arn, clientID string) *websocket.Conn {
				role := types.ChannelRoleMaster
				if clientID != "" {
					role = types.ChannelRoleViewer
				}
				c, _, err := dialWSS(ctx, e, presign(b, e, wssEndpoint(b, e, arn, role), presignOpts{arn: arn, clientID: clientID}))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.CloseNow() })
				return c
			}
			channel := func(name string) string {
				out, err := newClient(e).CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String(name)})
				if err != nil {
					b.Fatal(err)
				}
				return aws.ToString(out.ChannelARN)
			}
			flooded, calm := channel("flooded"), channel("calm")
			fm := connect(flooded, "")
			wg.Go(func() {
				for {
					if _, _, err := fm.Read(ctx); err != nil {
						return
					}
				}
			})
			msg := []byte(`{"action":"ICE_CANDIDATE","messagePayload":"eyJjYW5kaWRhdGUiOiJmbG9vZCJ9"}`)
			for i := range 10 {
				v := connect(flooded, fmt.Sprint("flood-", i))
				wg.Go(func() {
					for v.Write(ctx, websocket.MessageText, msg) == nil {
					}
				})
			}
			cm, cv := connect(calm, ""), connect(calm, "calm-viewer")
			toMaster := []byte(`{"action":"ICE_CANDIDATE","messagePayload":"eA=="}`)
			toViewer := []byte(`{"action":"ICE_CANDIDATE","recipientClientId":"calm-viewer","messagePayload":"eQ=="}`)
			// 20 round trips a second: a signaling channel's pace, inside its
			// own budget, so what is measured is the flood's effect.
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			var lat []time.Duration
			for b.Loop() {
				<-tick.C
				start := time.Now()
				rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
				if err := cv.Write(rctx, websocket.MessageText, toMaster); err != nil {
					b.Fatal(err)
				}
				if _, _, err := cm.Read(rctx); err != nil {
					b.Fatal(err)
				}
				if err := cm.Write(rctx, websocket.MessageText, toViewer); err != nil {
					b.Fatal(err)
				}
				if _, _, err := cv.Read(rctx); err != nil {
					b.Fatal(err)
				}
				rcancel()
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}
