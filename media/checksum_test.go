package media

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// TestFrameLogSurvivesRTP packetizes the demo clips with pion's payloaders,
// rebuilds frames with pion's samplebuilder, as a sender and a viewer do, and
// checks that the frame logs of both sides match.
func TestFrameLogSurvivesRTP(t *testing.T) {
	tests := []struct {
		codec Codec
		pay   rtp.Payloader
		depay func() rtp.Depacketizer
		rate  uint32
	}{
		{CodecH264, &codecs.H264Payloader{}, func() rtp.Depacketizer { return &codecs.H264Packet{} }, 90000},
		{CodecVP8, &codecs.VP8Payloader{}, func() rtp.Depacketizer { return &codecs.VP8Packet{} }, 90000},
		{CodecOpus, &codecs.OpusPayloader{}, func() rtp.Depacketizer { return &codecs.OpusPacket{} }, 48000},
	}
	for _, tt := range tests {
		t.Run(tt.codec.String(), func(t *testing.T) {
			sent, received := NewFrameLog(tt.codec), NewFrameLog(tt.codec)
			sb := samplebuilder.New(64, tt.depay(), tt.rate)
			frames := readAll(t, demoReader(t, tt.codec))
			var seq uint16
			for i, f := range frames {
				sent.Add(f)
				if i == 20 {
					continue // a lost frame: the receiver's log must still match
				}
				payloads := tt.pay.Payload(1200, f.Data)
				for j, p := range payloads {
					seq++
					sb.Push(&rtp.Packet{Header: rtp.Header{
						Version: 2, SequenceNumber: seq, Marker: j == len(payloads)-1,
						Timestamp: uint32(f.Timestamp.Seconds() * float64(tt.rate)),
					}, Payload: p})
				}
				for s := sb.Pop(); s != nil; s = sb.Pop() {
					received.Add(Frame{Data: s.Data})
				}
			}
			// Frame 20 was lost, and the samplebuilder emits a frame only
			// when the next one starts, so the last frame stays inside it.
			if got, want := received.Len(), sent.Len()-2; got != want {
				t.Fatalf("received %d frames, want %d", got, want)
			}
			n, err := sent.Match(received)
			if err != nil || n != received.Len() {
				t.Fatalf("Match = %d, %v", n, err)
			}
		})
	}
}

func TestFrameLogMatch(t *testing.T) {
	mk := func(datas ...string) *FrameLog {
		l := NewFrameLog(CodecOpus)
		for i, d := range datas {
			l.Add(Frame{Data: []byte(d), Seq: i, Keyframe: true})
		}
		return l
	}
	sent := mk("a", "b", "c", "d")
	tests := []struct {
		name string
		got  *FrameLog
		n    int
		ok   bool
	}{
		{"all", mk("a", "b", "c", "d"), 4, true},
		{"losses", mk("b", "d"), 2, true},
		{"none", mk(), 0, true},
		{"reordered", mk("b", "a"), 1, false},
		{"altered", mk("a", "x"), 1, false},
		{"duplicated", mk("a", "a"), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := sent.Match(tt.got)
			if n != tt.n || (err == nil) != tt.ok {
				t.Fatalf("Match = %d, %v; want %d, ok %v", n, err, tt.n, tt.ok)
			}
		})
	}
	var buf bytes.Buffer
	if _, err := sent.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 4 || !strings.HasSuffix(lines[0], " key") {
		t.Fatalf("WriteTo:\n%s", buf.String())
	}
}

func TestFrameChecksumH264IgnoresStartCodesAndAUD(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f}
	idr := []byte{0x65, 0x88, 0x84}
	a := annexB([][]byte{{0, 0, 0, 1}}, sps, idr)
	b := annexB([][]byte{{0, 0, 1}}, []byte{0x09, 0xf0}, sps, idr)
	if FrameChecksum(CodecH264, a) != FrameChecksum(CodecH264, b) {
		t.Fatal("start code length or an AUD changed the H.264 checksum")
	}
	if FrameChecksum(CodecH264, a) == FrameChecksum(CodecH264, annexB([][]byte{{0, 0, 1}}, idr, sps)) {
		t.Fatal("NAL order did not change the checksum")
	}
}
