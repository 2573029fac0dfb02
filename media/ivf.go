package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// IVFReader reads VP8 frames from an IVF file. The file header is parsed by
// pion's ivfreader; frames are read here (see MaxIVFFrameSize).
//
// Timestamps come from the frame headers and the file's timebase, made
// non-decreasing; a frame's Duration is the gap to the next frame (the last
// frame repeats the previous gap, or one timebase tick). Empty frames carry no
// picture and are skipped; their time goes to the frame before them.
type IVFReader struct {
	in      io.Reader
	header  *ivfreader.IVFFileHeader
	next    *Frame // read ahead to learn the current frame's duration
	last    time.Duration
	tick    time.Duration
	prevDur time.Duration
	seq     int
	err     error
}

// maxIVFTime bounds timestamps so that a corrupt header cannot overflow
// time.Duration.
const maxIVFTime = 100 * 365 * 24 * time.Hour

// NewIVFReader reads the IVF file header from r. Only the VP80 fourcc is
// accepted.
func NewIVFReader(r io.Reader) (*IVFReader, error) {
	if r == nil {
		return nil, errors.New("media: nil reader")
	}
	_, h, err := ivfreader.NewWith(r) // reads exactly the 32-byte header
	if err != nil {
		if !errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: ivf header: %w", ErrInvalidStream, err)
		} else {
			err = fmt.Errorf("%w: ivf header: %w", ErrInvalidStream, io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	if h.FourCC != "VP80" {
		return nil, fmt.Errorf("%w: ivf fourcc %q, want VP80", ErrUnsupported, h.FourCC)
	}
	tick := time.Duration(float64(time.Second) * float64(h.TimebaseNumerator) / float64(h.TimebaseDenominator))
	if tick <= 0 || tick > time.Hour {
		return nil, fmt.Errorf("%w: ivf timebase %d/%d", ErrInvalidStream, h.TimebaseNumerator, h.TimebaseDenominator)
	}
	return &IVFReader{in: r, header: h, tick: tick}, nil
}

// Size returns the picture size in the file header.
func (v *IVFReader) Size() (width, height int) {
	return int(v.header.Width), int(v.header.Height)
}

// MaxIVFFrameSize bounds the size of one IVF frame. pion's ParseNextFrame
// allocates whatever size a frame header claims (up to 4 GiB), so IVFReader
// uses pion only for the file header and reads frames itself.
const MaxIVFFrameSize = 16 << 20

// readRaw returns the next non-empty frame with its timestamp; Duration and
// Seq are filled in by ReadFrame.
func (v *IVFReader) readRaw() (*Frame, error) {
	for {
		var hdr [12]byte
		if _, err := io.ReadFull(v.in, hdr[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: ivf frame header: %w", ErrInvalidStream, err)
			}
			return nil, err // io.EOF or a read error
		}
		size := binary.LittleEndian.Uint32(hdr[0:4])
		pts := binary.LittleEndian.Uint64(hdr[4:12])
		if size > MaxIVFFrameSize {
			return nil, fmt.Errorf("%w: ivf frame of %d bytes", ErrInvalidStream, size)
		}
		var buf bytes.Buffer
		if n, err := io.CopyN(&buf, v.in, int64(size)); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%w: ivf frame data (%d of %d bytes): %w", ErrInvalidStream, n, size, err)
		}
		if size == 0 {
			continue
		}
		secs := float64(pts) * float64(v.header.TimebaseNumerator) / float64(v.header.TimebaseDenominator)
		if secs*float64(time.Second) > float64(maxIVFTime) {
			return nil, fmt.Errorf("%w: ivf timestamp out of range", ErrInvalidStream)
		}
		ts := max(time.Duration(secs*float64(time.Second)), v.last)
		v.last = ts
		data := buf.Bytes()
		return &Frame{Data: data, Keyframe: data[0]&1 == 0, Timestamp: ts}, nil
	}
}

// ReadFrame returns the next VP8 frame, or io.EOF after the last.
func (v *IVFReader) ReadFrame() (Frame, error) {
	if v.err != nil {
		return Frame{}, v.err
	}
	cur := v.next
	v.next = nil
	if cur == nil {
		f, err := v.readRaw()
		if err != nil {
			v.err = err
			return Frame{}, err
		}
		cur = f
	}
	next, err := v.readRaw()
	if err != nil {
		v.err = err
		// The last frame: reuse the previous gap.
		cur.Duration = v.tick
		if v.seq > 0 && v.prevDur > 0 {
			cur.Duration = v.prevDur
		}
	} else {
		v.next = next
		cur.Duration = next.Timestamp - cur.Timestamp
		if cur.Duration <= 0 {
			cur.Duration = v.tick
		}
	}
	cur.Seq = v.seq
	v.seq++
	v.prevDur = cur.Duration
	// A read error after cur is reported by the next call; cur is whole.
	return *cur, nil
}
