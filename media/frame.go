package media

import (
	"errors"
	"time"
)

// Frame is one unit of media as it is sent on a track: an H.264 access unit
// (Annex-B, every NAL unit behind a 4-byte start code), a VP8 frame or an Opus
// packet.
//
// Data is shared by every subscriber of a [Broadcaster] and by its GOP cache:
// treat it as read-only.
type Frame struct {
	// Data is the payload. For H.264 it holds all NAL units of one access
	// unit, parameter sets and SEI included, in Annex-B form.
	Data []byte
	// Duration is how long the frame is shown or played.
	Duration time.Duration
	// Keyframe reports whether a decoder can start at this frame: an H.264
	// IDR access unit, a VP8 key frame. Every Opus packet is a keyframe.
	Keyframe bool
	// Timestamp is the presentation time from the start of the stream. It
	// keeps growing across loops of a looped [Source].
	Timestamp time.Duration
	// Seq numbers frames from 0 in the order a reader or source produced
	// them; it keeps growing across loops.
	Seq int
}

// Codec names the encoding of a stream.
type Codec int

// Codecs understood by this package.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecVP8
	CodecOpus
)

// String returns the codec's short lowercase name, as ffprobe prints it.
func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "h264"
	case CodecVP8:
		return "vp8"
	case CodecOpus:
		return "opus"
	default:
		return "unknown"
	}
}

// MimeType returns the codec's MIME type as pion/webrtc spells it
// (webrtc.MimeTypeH264 and friends), or "" for CodecUnknown.
func (c Codec) MimeType() string {
	switch c {
	case CodecH264:
		return "video/H264"
	case CodecVP8:
		return "video/VP8"
	case CodecOpus:
		return "audio/opus"
	default:
		return ""
	}
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 || c == CodecVP8 }

// ParseCodec maps a name ("h264", "vp8", "opus", case-sensitive lowercase) to
// a Codec; any other name gives CodecUnknown.
func ParseCodec(name string) Codec {
	for _, c := range []Codec{CodecH264, CodecVP8, CodecOpus} {
		if c.String() == name {
			return c
		}
	}
	return CodecUnknown
}

// FrameReader reads a stream one frame at a time. ReadFrame returns io.EOF
// after the last frame. The readers in this package stamp Timestamp and Seq
// from the start of their stream.
type FrameReader interface {
	ReadFrame() (Frame, error)
}

// Errors returned by this package.
var (
	// ErrClosed is returned by calls on a closed Source, Broadcaster or
	// WebMWriter.
	ErrClosed = errors.New("media: closed")
	// ErrInvalidStream wraps errors about input that is not what its codec
	// or container promises.
	ErrInvalidStream = errors.New("media: invalid stream")
	// ErrUnsupported is returned for valid input this package does not
	// handle, such as an Ogg page that carries more than one Opus packet.
	ErrUnsupported = errors.New("media: unsupported")
)
