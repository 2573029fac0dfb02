package session

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/kvsrtc/kvsrtc/media"
)

// mtu is the RTP payload size: small enough for TURN over any path.
const mtu = 1200

func clockRate(c media.Codec) uint32 {
	if c == media.CodecOpus {
		return 48000
	}
	return 90000
}

// packetCache packetizes each frame once for every viewer: the payloads of
// the most recent frames are kept by Frame.Seq, enough for a GOP cache.
type packetCache struct {
	mu    sync.Mutex
	pay   rtp.Payloader
	m     map[int][][]byte
	ring  []int
	next  int
	count int // frames packetized, for tests and stats
}

func newPacketCache(c media.Codec, size int) *packetCache {
	var pay rtp.Payloader
	switch c {
	case media.CodecH264:
		pay = &codecs.H264Payloader{}
	case media.CodecVP8:
		pay = &codecs.VP8Payloader{EnablePictureID: true}
	default:
		pay = &codecs.OpusPayloader{}
	}
	ring := make([]int, size)
	for i := range ring {
		ring[i] = -1
	}
	return &packetCache{pay: pay, m: make(map[int][][]byte, size), ring: ring}
}

// payloads returns f's RTP payloads; they are shared, read only.
func (c *packetCache) payloads(f media.Frame) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[f.Seq]; ok {
		return p
	}
	p := c.pay.Payload(mtu, f.Data)
	if old := c.ring[c.next]; old >= 0 {
		delete(c.m, old)
	}
	c.ring[c.next] = f.Seq
	c.next = (c.next + 1) % len(c.ring)
	c.m[f.Seq] = p
	c.count++
	return p
}

// assembler rebuilds frames from RTP packets, in order (reorder puts them
// in order first): a frame ends at the marker bit (pion's packetizer sets it on the last packet
// of each frame), so it is handed on as soon as its last packet arrives. A
// gap in sequence numbers drops the frame it hit and, for video, every frame
// until the next keyframe, so what is handed on always decodes.
type assembler struct {
	codec   media.Codec
	rate    uint32
	depay   rtp.Depacketizer
	buf     []byte
	ts      uint32
	inFrame bool
	broken  bool
	waitKey bool
	haveSeq bool
	lastSeq uint16
	haveTS  bool
	firstTS uint32
	seq     int
}

func newAssembler(c media.Codec) *assembler {
	a := &assembler{codec: c, rate: clockRate(c), waitKey: c.IsVideo()}
	a.reset()
	return a
}

func (a *assembler) reset() {
	switch a.codec {
	case media.CodecH264:
		a.depay = &codecs.H264Packet{}
	case media.CodecVP8:
		a.depay = &codecs.VP8Packet{}
	default:
		a.depay = &codecs.OpusPacket{}
	}
	a.buf, a.inFrame, a.broken = nil, false, false
}

// push adds a packet; it returns a frame when p completed one.
func (a *assembler) push(p *rtp.Packet) (media.Frame, bool) {
	if a.haveSeq && p.SequenceNumber != a.lastSeq+1 {
		if int16(p.SequenceNumber-a.lastSeq) <= 0 {
			return media.Frame{}, false // late or duplicate (a retransmission we no longer need)
		}
		a.reset()
		a.broken = true
		if a.codec.IsVideo() {
			a.waitKey = true
		}
	}
	a.haveSeq, a.lastSeq = true, p.SequenceNumber
	if a.inFrame && p.Timestamp != a.ts {
		a.reset() // the previous frame never saw its marker
		if a.codec.IsVideo() {
			a.waitKey = true
		}
	}
	if !a.inFrame {
		a.inFrame, a.ts = true, p.Timestamp
	}
	if len(p.Payload) > 0 {
		b, err := a.depay.Unmarshal(p.Payload)
		if err != nil {
			a.broken = true
		}
		a.buf = append(a.buf, b...)
	}
	if !p.Marker && a.codec != media.CodecOpus {
		return media.Frame{}, false
	}
	data, broken := a.buf, a.broken
	a.reset()
	if broken || len(data) == 0 {
		return media.Frame{}, false
	}
	key := isKeyframe(a.codec, data)
	if a.waitKey && !key {
		return media.Frame{}, false
	}
	a.waitKey = false
	if !a.haveTS {
		a.haveTS, a.firstTS = true, a.ts
	}
	f := media.Frame{Data: data, Keyframe: key, Seq: a.seq,
		Timestamp: ticks(a.ts-a.firstTS, a.rate)}
	a.seq++
	return f, true
}

func ticks(n uint32, rate uint32) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}

// isKeyframe reports whether a decoder can start at data.
func isKeyframe(c media.Codec, data []byte) bool {
	switch c {
	case media.CodecH264:
		for _, n := range media.SplitAnnexB(data) {
			if len(n) > 0 && n[0]&0x1f == 5 {
				return true
			}
		}
		return false
	case media.CodecVP8:
		return len(data) > 0 && data[0]&1 == 0
	}
	return true
}
