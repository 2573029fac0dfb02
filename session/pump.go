package session

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kvsrtc/kvsrtc/media"
)

// pump sends src to one viewer once its connection is up, starting at the
// cached GOP.
func (m *Master) pump(ctx context.Context, mp *masterPeer, src *media.Source, cache *packetCache, track *webrtc.TrackLocalStaticRTP) {
	select {
	case <-mp.connected:
	case <-ctx.Done():
		return
	}
	connectedAt := time.Now()
	if s, ok := mp.tl.Step(StepDTLSConnected); ok {
		connectedAt = mp.tl.Start().Add(time.Duration(s.EndMs * float64(time.Millisecond)))
	}
	codec := src.Codec()
	rate := float64(clockRate(codec))
	frames, unsubscribe := src.Subscribe()
	defer unsubscribe()
	seq := uint16(rand.Uint32())
	base := rand.Uint32()
	first := true
	for {
		var f media.Frame
		var ok bool
		select {
		case f, ok = <-frames:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		payloads := cache.payloads(f)
		ts := base + uint32(int64(f.Timestamp.Seconds()*rate))
		for i, pl := range payloads {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(payloads)-1, SequenceNumber: seq, Timestamp: ts}, Payload: pl}
			seq++
			if err := track.WriteRTP(pkt); err != nil {
				if errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
			mp.packets.Add(1)
			mp.bytes.Add(int64(len(pl)))
		}
		if codec.IsVideo() {
			mp.videoFrames.Add(1)
		} else {
			mp.audioFrames.Add(1)
		}
		if first {
			first = false
			step := StepFirstAudio
			if codec.IsVideo() {
				step = StepFirstVideo
			}
			mp.tl.Mark(step, connectedAt)
		}
		if m.opts.OnFrameSent != nil {
			m.opts.OnFrameSent(mp.id, codec, f)
		}
	}
}
