package signaling_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/channel"
	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/emulator/emulatortest"
	"github.com/kvsrtc/kvsrtc/signaling"
	"github.com/kvsrtc/kvsrtc/wire"
)

// A burst of 30 candidates against the service's 20-per-second quota:
// paced, every one arrives; unpaced, the emulator (like the service) drops
// the excess and says so in STATUS_RESPONSEs.
func TestSendPacingKeepsWithinQuotas(t *testing.T) {
	for _, tt := range []struct {
		name  string
		rates signaling.SendRates
		want  int
	}{
		{"paced", signaling.SendRates{}, 30},
		{"unpaced", signaling.SendRates{SDPPerSecond: -1, ICEPerSecond: -1}, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			e := emulatortest.Start(t, emulator.Options{})
			et := newEmuTarget(t, e)
			arn := et.createChannel(t, ctx, "paced", 0)
			master := et.dialGo(t, ctx, arn, channel.RoleMaster, "")
			viewer := et.dialGo(t, ctx, arn, channel.RoleViewer, "v1", func(o *signaling.Options) { o.SendRates = tt.rates })
			for i := range 30 {
				if _, err := viewer.SendICECandidate(ctx, "", candidate(fmt.Sprint(10000+i)), signaling.WithNewCorrelationID()); err != nil {
					t.Fatal(err)
				}
			}
			got, refused := 0, 0
			for got+refused < 30 {
				select {
				case m := <-master.Messages():
					if m.MessageType == wire.MessageTypeICECandidate {
						got++
					}
				case m := <-viewer.Messages():
					if m.MessageType == wire.MessageTypeStatusResponse && m.StatusResponse.ErrorType == "ClientLimitExceededException" {
						refused++
					}
				case <-ctx.Done():
					t.Fatalf("%d delivered, %d refused: %v", got, refused, ctx.Err())
				}
			}
			paced := tt.want == 30
			if got < tt.want || (paced && refused != 0) || (!paced && refused == 0) {
				t.Fatalf("%d of 30 delivered, %d refused; want %d delivered", got, refused, tt.want)
			}
		})
	}
}

// TestSendAfterCloseSkipsTheQuota: a Send waiting for the rate quota ends
// with ErrClosed when the Client closes, and a Send after Close returns
// ErrClosed at once, not after the quota's wait.
func TestSendAfterCloseSkipsTheQuota(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := emulatortest.Start(t, emulator.Options{})
	et := newEmuTarget(t, e)
	arn := et.createChannel(t, ctx, "closing", 0)
	et.dialGo(t, ctx, arn, channel.RoleMaster, "")
	// One SDP message every 100 s: the second send waits for the quota.
	viewer := et.dialGo(t, ctx, arn, channel.RoleViewer, "v1", func(o *signaling.Options) { o.SendRates.SDPPerSecond = 0.01 })
	sd := wire.SessionDescription{Type: "offer", SDP: "v=0\r\n"}
	if _, err := viewer.SendOffer(ctx, "", sd); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() { _, err := viewer.SendOffer(ctx, "", sd); waiting <- err }()
	viewer.Close()
	select {
	case err := <-waiting:
		if !errors.Is(err, signaling.ErrClosed) {
			t.Errorf("send waiting for the quota: %v, want ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("a send waiting for the quota outlived Close")
	}
	if _, err := viewer.SendOffer(ctx, "", sd); !errors.Is(err, signaling.ErrClosed) {
		t.Errorf("send after Close: %v, want ErrClosed", err)
	}
}
