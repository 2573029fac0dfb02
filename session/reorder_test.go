package session

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/kvsrtc/kvsrtc/media"
)

// clipPackets packetizes the first n frames of the demo clip as a master
// does; it returns the packets and each frame's data.
func clipPackets(t *testing.T, n int) ([]*rtp.Packet, [][]byte) {
	t.Helper()
	r, err := media.NewAnnexBReader(media.DemoH264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	pc := newPacketCache(media.CodecH264, 8)
	var pkts []*rtp.Packet
	var frames [][]byte
	seq := uint16(65500) // wraps around during the clip
	for i := range n {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f.Data)
		payloads := pc.payloads(f)
		for j, p := range payloads {
			pkts = append(pkts, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i * 3000),
				Marker: j == len(payloads)-1, PayloadType: 96}, Payload: p})
			seq++
		}
	}
	return pkts, frames
}

// assemble runs pkts, arriving dt apart, through reorder and assembler.
func assemble(pkts []*rtp.Packet, dt time.Duration) [][]byte {
	a, jb := newAssembler(media.CodecH264), newReorder()
	now := time.Unix(0, 0)
	var out [][]byte
	for _, p := range pkts {
		now = now.Add(dt)
		for _, q := range jb.push(p, now) {
			if f, ok := a.push(q); ok {
				out = append(out, f.Data)
			}
		}
	}
	return out
}

func sameFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestReorderRestoresOrder(t *testing.T) {
	pkts, frames := clipPackets(t, 90)
	if got := assemble(pkts, time.Millisecond); !sameFrames(got, frames) {
		t.Fatalf("in order: %d frames, want %d", len(got), len(frames))
	}
	// Shuffle within windows of 8 packets, as a network that reorders,
	// after the first packet: the first one seen sets where the stream
	// starts (waiting to learn whether an older one is coming would cost
	// every viewer's first frame that wait).
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := append([]*rtp.Packet(nil), pkts...)
	for i := 1; i < len(shuffled); i += 8 {
		w := shuffled[i:min(i+8, len(shuffled))]
		rng.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	if got := assemble(shuffled, time.Millisecond); !sameFrames(got, frames) {
		t.Fatalf("reordered: %d frames, want every one of %d", len(got), len(frames))
	}
	// A packet resent after a NACK arrives 20 packets (20 ms) late: nothing
	// is lost. Duplicates are ignored.
	late := append([]*rtp.Packet(nil), pkts[:40]...)
	late = append(late, pkts[41:61]...)
	late = append(late, pkts[40], pkts[40], pkts[45])
	late = append(late, pkts[61:]...)
	if got := assemble(late, time.Millisecond); !sameFrames(got, frames) {
		t.Fatalf("resent packet: %d frames, want every one of %d", len(got), len(frames))
	}
}

func TestReorderGivesUpOnALoss(t *testing.T) {
	pkts, frames := clipPackets(t, 90)
	// Packet 40 never comes: after the wait, frames resume at the next
	// keyframe (frame 30 and 60 are IDRs in a 30-frame GOP).
	lost := append(append([]*rtp.Packet(nil), pkts[:40]...), pkts[41:]...)
	got := assemble(lost, 5*time.Millisecond)
	if len(got) == 0 || len(got) >= len(frames) {
		t.Fatalf("%d frames from a stream with a loss, want fewer than %d", len(got), len(frames))
	}
	// Everything handed on decodes: the frames before the loss, then from
	// the keyframe at 60 on.
	if !bytes.Equal(got[len(got)-1], frames[len(frames)-1]) || !bytes.Equal(got[len(got)-30], frames[60]) {
		t.Fatal("frames after the loss do not resume at the next keyframe")
	}
}
