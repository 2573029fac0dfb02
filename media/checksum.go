package media

import (
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// FrameSum is the fingerprint of one frame's payload.
type FrameSum struct {
	Seq int
	// Size counts the bytes hashed: the payload, or for H.264 the NAL
	// units without start codes, AUD and filler.
	Size     int
	CRC      uint32 // FrameChecksum of the payload
	Keyframe bool
}

// FrameChecksum returns the CRC-32 (Castagnoli) of a frame payload. For
// H.264 it hashes the NAL units without their start codes and skips access
// unit delimiters and filler data, which pion's RTP payloader drops, so a
// frame hashes the same before packetization and after depacketization.
func FrameChecksum(c Codec, data []byte) uint32 {
	crc, _ := fingerprint(c, data)
	return crc
}

func fingerprint(c Codec, data []byte) (crc uint32, size int) {
	if c != CodecH264 {
		return crc32.Checksum(data, castagnoli), len(data)
	}
	h := crc32.New(castagnoli)
	for _, n := range SplitAnnexB(data) {
		if t := n[0] & 0x1f; t == nalAUD || t == nalFiller {
			continue
		}
		l := len(n)
		h.Write([]byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l)})
		h.Write(n)
		size += l
	}
	return h.Sum32(), size
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FrameLog records the fingerprints of frames in the order they were added,
// so that an end-to-end test can compare frames sent with frames received.
// It is safe for concurrent use.
type FrameLog struct {
	codec Codec
	mu    sync.Mutex
	sums  []FrameSum
}

// NewFrameLog returns an empty log for frames of codec c.
func NewFrameLog(c Codec) *FrameLog { return &FrameLog{codec: c} }

// Add records f.
func (l *FrameLog) Add(f Frame) {
	crc, size := fingerprint(l.codec, f.Data)
	s := FrameSum{Seq: f.Seq, Size: size, CRC: crc, Keyframe: f.Keyframe}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sums = append(l.sums, s)
}

// Len returns the number of frames recorded.
func (l *FrameLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sums)
}

// Sums returns a copy of the recorded fingerprints.
func (l *FrameLog) Sums() []FrameSum {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]FrameSum(nil), l.sums...)
}

// WriteTo writes one line per frame: "seq size crc32c key|delta".
func (l *FrameLog) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for _, s := range l.Sums() {
		kind := "delta"
		if s.Keyframe {
			kind = "key"
		}
		n, err := fmt.Fprintf(w, "%d %d %08x %s\n", s.Seq, s.Size, s.CRC, kind)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Match checks that every frame in received was sent, in order: received
// must be a subsequence of l by checksum and size (frames may be lost, not
// altered, duplicated or reordered). It returns how many frames matched and,
// on failure, an error naming the first received frame with no match.
// Frame sequence numbers are not compared: a receiver numbers its own.
func (l *FrameLog) Match(received *FrameLog) (int, error) {
	sent, got := l.Sums(), received.Sums()
	i := 0
	for j, g := range got {
		for i < len(sent) && (sent[i].CRC != g.CRC || sent[i].Size != g.Size) {
			i++
		}
		if i == len(sent) {
			return j, fmt.Errorf("received frame %d (size %d, crc %08x) does not match any later sent frame", j, g.Size, g.CRC)
		}
		i++
	}
	return len(got), nil
}
