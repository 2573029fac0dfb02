package media

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// H.264 NAL unit types used here (ITU-T H.264 table 7-1).
const (
	nalSlice  = 1
	nalIDR    = 5
	nalSEI    = 6
	nalSPS    = 7
	nalPPS    = 8
	nalAUD    = 9
	nalFiller = 12
)

var startCode = []byte{0, 0, 0, 1}

// DefaultFPS is the frame rate assumed for H.264 Annex-B input, which carries
// no timestamps, when none is given.
const DefaultFPS = 30

// AnnexBReader groups the NAL units of an H.264 Annex-B byte stream into
// access units (frames). pion's h264reader splits the stream into NAL units;
// AnnexBReader decides where one frame ends and the next begins:
//
//   - an access unit delimiter, SEI, SPS or PPS (or types 14–18) after a slice
//     starts a new frame, so parameter sets and SEI travel with the slice
//     that follows them;
//   - a slice whose first_mb_in_slice is 0 after a slice starts a new frame;
//     other slices belong to the current frame (multi-slice pictures).
//
// Annex-B has no timestamps: frame i gets Timestamp i/fps and Duration 1/fps.
// A frame is complete only when the first NAL unit of the next one has been
// read (or at EOF), so a live stream is one NAL unit behind.
type AnnexBReader struct {
	nals    *h264reader.H264Reader
	fps     float64
	dur     time.Duration
	pending *h264reader.NAL
	seq     int
	err     error
}

// NewAnnexBReader returns a reader of H.264 Annex-B frames from r at fps
// frames per second (DefaultFPS if fps <= 0).
func NewAnnexBReader(r io.Reader, fps float64) (*AnnexBReader, error) {
	if r == nil {
		return nil, errors.New("media: nil reader")
	}
	if fps <= 0 {
		fps = DefaultFPS
	}
	nals, err := h264reader.NewReaderWithOptions(r, h264reader.WithIncludeSEI(true))
	if err != nil {
		return nil, fmt.Errorf("open h264 reader: %w", err)
	}
	return &AnnexBReader{nals: nals, fps: fps, dur: time.Duration(float64(time.Second) / fps)}, nil
}

// ReadFrame returns the next access unit. It returns io.EOF after the last
// one; NAL units after the last slice (a trailing SPS, say) are dropped.
func (a *AnnexBReader) ReadFrame() (Frame, error) {
	if a.err != nil {
		return Frame{}, a.err
	}
	var (
		nals     [][]byte
		size     int
		hasSlice bool
		key      bool
	)
	emit := func() Frame {
		data := make([]byte, 0, size)
		for _, n := range nals {
			data = append(data, startCode...)
			data = append(data, n...)
		}
		f := Frame{
			Data:      data,
			Duration:  a.dur,
			Keyframe:  key,
			Timestamp: time.Duration(float64(a.seq) * float64(time.Second) / a.fps),
			Seq:       a.seq,
		}
		a.seq++
		return f
	}
	for {
		nal := a.pending
		a.pending = nil
		if nal == nil {
			var err error
			nal, err = a.nals.NextNAL()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					err = fmt.Errorf("%w: h264: %w", ErrInvalidStream, err)
				}
				a.err = err
				if hasSlice {
					return emit(), nil
				}
				return Frame{}, err
			}
		}
		if len(nal.Data) == 0 {
			continue
		}
		typ := nal.Data[0] & 0x1f
		vcl := typ == nalSlice || typ == nalIDR
		if hasSlice && startsAccessUnit(nal.Data) {
			a.pending = nal
			return emit(), nil
		}
		nals = append(nals, nal.Data)
		size += len(startCode) + len(nal.Data)
		if vcl {
			hasSlice = true
		}
		if typ == nalIDR {
			key = true
		}
	}
}

// startsAccessUnit reports whether NAL unit n, following a slice of the
// current access unit, begins a new one (H.264 7.4.1.2.3, simplified for
// streams without redundant pictures).
func startsAccessUnit(n []byte) bool {
	switch typ := n[0] & 0x1f; typ {
	case nalSEI, nalSPS, nalPPS, nalAUD, 14, 15, 16, 17, 18:
		return true
	case nalSlice, nalIDR:
		// first_mb_in_slice is ue(v); a leading 1 bit encodes 0.
		return len(n) > 1 && n[1]&0x80 != 0
	default:
		return false
	}
}

// SplitAnnexB returns the NAL units of an Annex-B buffer, without start
// codes. Bytes before the first start code are ignored; trailing zero bytes
// of a NAL unit are trimmed. The returned slices alias b.
func SplitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	i := 0
	for i+2 < len(b) {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				nals = appendNAL(nals, b[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		nals = appendNAL(nals, b[start:])
	}
	return nals
}

func appendNAL(nals [][]byte, n []byte) [][]byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return nals
	}
	return append(nals, n)
}

// AnnexBToAVC converts an Annex-B access unit to the length-prefixed form
// (4-byte big-endian lengths) that MP4 and Matroska store.
func AnnexBToAVC(b []byte) []byte {
	nals := SplitAnnexB(b)
	n := 0
	for _, nal := range nals {
		n += 4 + len(nal)
	}
	out := make([]byte, 0, n)
	for _, nal := range nals {
		l := len(nal)
		out = append(out, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		out = append(out, nal...)
	}
	return out
}

// ParameterSets returns the first SPS and PPS NAL units in an Annex-B access
// unit, or nil for each that is missing.
func ParameterSets(b []byte) (sps, pps []byte) {
	for _, n := range SplitAnnexB(b) {
		switch n[0] & 0x1f {
		case nalSPS:
			if sps == nil {
				sps = n
			}
		case nalPPS:
			if pps == nil {
				pps = n
			}
		}
	}
	return sps, pps
}

// AVCDecoderConfig builds an AVCDecoderConfigurationRecord ("avcC", ISO/IEC
// 14496-15 5.3.3.1) from one SPS and one PPS, with 4-byte NAL lengths. It is
// the CodecPrivate of a Matroska V_MPEG4/ISO/AVC track.
func AVCDecoderConfig(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || sps[0]&0x1f != nalSPS {
		return nil, fmt.Errorf("%w: avcC: bad SPS", ErrInvalidStream)
	}
	if len(pps) < 1 || pps[0]&0x1f != nalPPS {
		return nil, fmt.Errorf("%w: avcC: bad PPS", ErrInvalidStream)
	}
	if len(sps) > 0xffff || len(pps) > 0xffff {
		return nil, fmt.Errorf("%w: avcC: parameter set too long", ErrInvalidStream)
	}
	b := []byte{
		1,                      // configurationVersion
		sps[1], sps[2], sps[3], // profile, compatibility, level
		0xfc | 3, // lengthSizeMinusOne = 3
		0xe0 | 1, // one SPS
		byte(len(sps) >> 8), byte(len(sps)),
	}
	b = append(b, sps...)
	b = append(b, 1, byte(len(pps)>>8), byte(len(pps)))
	b = append(b, pps...)
	return b, nil
}
