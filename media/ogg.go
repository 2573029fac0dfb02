package media

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// OpusSampleRate is the rate of Opus granule positions and RTP timestamps.
const OpusSampleRate = 48000

// OggReader reads Opus packets from an Ogg Opus file with pion's oggreader.
//
// It needs one Opus packet per Ogg page, which is what `ffmpeg -page_duration
// 20000` and WebRTC recorders write: pion hands out whole page payloads, not
// packets. A page whose granule position advances by more than its first
// packet's duration holds several packets, and ReadFrame returns an
// ErrUnsupported error for it. Duration comes from the packet's TOC byte
// (RFC 6716 3.1); Timestamp is the sum of the durations before it.
type OggReader struct {
	r       *oggreader.OggReader
	head    *oggreader.OggHeader
	granule uint64
	audio   int // audio pages read
	ts      time.Duration
	seq     int
	err     error
}

// NewOggReader reads the OpusHead page from r.
func NewOggReader(r io.Reader) (*OggReader, error) {
	if r == nil {
		return nil, errors.New("media: nil reader")
	}
	or, head, err := oggreader.NewWith(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: ogg opus header: %w", ErrInvalidStream, err)
	}
	return &OggReader{r: or, head: head}, nil
}

// Channels returns the channel count from the OpusHead.
func (o *OggReader) Channels() int { return int(o.head.Channels) }

// PreSkip returns the number of 48 kHz samples to discard at the start of
// decoding, from the OpusHead.
func (o *OggReader) PreSkip() int { return int(o.head.PreSkip) }

// ReadFrame returns the next Opus packet, or io.EOF after the last.
func (o *OggReader) ReadFrame() (Frame, error) {
	if o.err != nil {
		return Frame{}, o.err
	}
	f, err := o.readFrame()
	if err != nil {
		o.err = err
	}
	return f, err
}

func (o *OggReader) readFrame() (Frame, error) {
	for {
		payload, ph, err := o.r.ParseNextPage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Frame{}, io.EOF
			}
			return Frame{}, fmt.Errorf("%w: ogg page: %w", ErrInvalidStream, err)
		}
		if typ, ok := ph.HeaderType(payload); ok && typ == oggreader.HeaderOpusTags {
			continue
		}
		if len(payload) == 0 {
			continue
		}
		samples, err := OpusPacketSamples(payload)
		if err != nil {
			return Frame{}, err
		}
		const noPacketEnds = ^uint64(0)
		if ph.GranulePosition == noPacketEnds {
			return Frame{}, fmt.Errorf("%w: opus packet spans ogg pages", ErrUnsupported)
		}
		if o.audio > 0 && ph.GranulePosition > o.granule && ph.GranulePosition-o.granule > uint64(samples) {
			return Frame{}, fmt.Errorf("%w: ogg page %d holds %d samples but its first opus packet %d: write one packet per page (ffmpeg -page_duration 20000)",
				ErrUnsupported, o.audio, ph.GranulePosition-o.granule, samples)
		}
		o.granule = ph.GranulePosition
		o.audio++
		f := Frame{
			Data:      payload,
			Duration:  time.Duration(samples) * time.Second / OpusSampleRate,
			Keyframe:  true,
			Timestamp: o.ts,
			Seq:       o.seq,
		}
		o.ts += f.Duration
		o.seq++
		return f, nil
	}
}

// OpusPacketSamples returns the number of 48 kHz samples in an Opus packet
// from its TOC byte and frame count (RFC 6716 3.1, 3.2.5); an empty packet,
// a code-3 packet without a frame count or with none, and one over 120 ms
// are ErrInvalidStream.
func OpusPacketSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("%w: empty opus packet", ErrInvalidStream)
	}
	config := p[0] >> 3
	var per int // samples per frame at 48 kHz
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		per = []int{480, 960, 1920, 2880}[config%4]
	case config < 16: // Hybrid: 10, 20 ms
		per = []int{480, 960}[config%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		per = []int{120, 240, 480, 960}[config%4]
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, fmt.Errorf("%w: opus packet without frame count", ErrInvalidStream)
		}
		frames = int(p[1] & 0x3f)
		if frames == 0 {
			return 0, fmt.Errorf("%w: opus packet with 0 frames", ErrInvalidStream)
		}
	}
	if n := per * frames; n <= 5760 { // 120 ms
		return n, nil
	}
	return 0, fmt.Errorf("%w: opus packet longer than 120 ms", ErrInvalidStream)
}
