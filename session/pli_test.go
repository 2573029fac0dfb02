package session_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
)

// TestViewerAsksForKeyframe: after a packet of a delta frame is lost (the
// hand master skips it and answers no NACK), the viewer drops frames until
// a keyframe and asks the master for one with a Picture Loss Indication.
func TestViewerAsksForKeyframe(t *testing.T) {
	v := newEnv(t, "pli")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := dialHandMaster(t, ctx, v)
	runViewer(t, ctx, v, "v-pli", 0)
	from, offer, early := h.offer(ctx)
	pc := newHandPC(t, csdkH264, opus)
	track, err := webrtc.NewTrackLocalStaticRTP(csdkH264.RTPCodecCapability, "video", "m")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	plis := make(chan struct{}, 1)
	h.wg.Add(1)
	go func() { // ends when pc closes (at cleanup)
		defer h.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					select {
					case plis <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	h.answer(ctx, pc, from, offer, early, nil)
	waitFor(t, 15*time.Second, "connected", func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected })

	r, err := media.NewAnnexBReader(media.DemoH264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	pay := &codecs.H264Payloader{}
	seq := uint16(1000)
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for i := 0; ; i++ {
		f, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			t.Fatal("the clip ended without a PLI from the viewer")
		}
		if err != nil {
			t.Fatal(err)
		}
		ps := pay.Payload(1200, f.Data)
		for j, p := range ps {
			seq++
			if i == 20 && !f.Keyframe && j == 0 { // lost: the viewer sees a gap
				continue
			}
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: j == len(ps)-1, SequenceNumber: seq, Timestamp: uint32(i * 3000)}, Payload: p}
			if err := track.WriteRTP(pkt); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-plis:
			if i < 20 {
				t.Fatalf("PLI at frame %d, before any loss", i)
			}
			t.Logf("PLI after frame %d (loss at frame 20)", i)
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no PLI")
		}
	}
}
