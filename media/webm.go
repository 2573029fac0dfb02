package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

// WebMOptions configures a WebMWriter.
type WebMOptions struct {
	// Video is CodecH264, CodecVP8 or CodecUnknown for no video track.
	Video Codec
	// Audio is CodecOpus or CodecUnknown for no audio track.
	Audio Codec
	// Width and Height of the video; default: read from the first
	// keyframe (H.264 SPS, VP8 frame header).
	Width, Height int
	// AudioChannels of the Opus track; default 2.
	AudioChannels int
	// OpusPreSkip is written to the OpusHead and CodecDelay; default 0
	// (WebRTC Opus has no pre-skip).
	OpusPreSkip int
	// Logger; default discard.
	Logger *slog.Logger
}

// WebMWriter records frames to a WebM or Matroska file with ebml-go (as
// pion's save-to-webm example does).
//
// With VP8 and/or Opus it writes WebM (DocType "webm"). With H.264 it writes
// Matroska (DocType "matroska"; name the file .mkv): WebM admits only
// VP8/VP9/AV1 video, and ffprobe and players read V_MPEG4/ISO/AVC from
// Matroska without complaint. H.264 frames are converted from Annex-B to
// 4-byte length-prefixed NAL units; the CodecPrivate (avcC) is built from the
// first keyframe's SPS and PPS, which stay in-band too, so a stream whose
// parameters change mid-way still decodes.
//
// The file header needs the video size and, for H.264, the parameter sets,
// so with a video track nothing is written until the first video keyframe:
// earlier frames of either track are dropped. Recording time starts at the
// first written frame.
//
// Write each track's frames in timestamp order, and the two tracks roughly
// interleaved, as they arrive live: ebml-go's sorter holds up to 16 frames
// per track to interleave them, and drops a frame older than one already
// written (so writing all video, then all audio, loses the audio).
//
// A write error on w stops ebml-go's muxer; later calls return that error
// once it has been seen, but a Write racing with the failure may block.
//
// If w is an io.WriteSeeker (a file), the writer also fills in the Segment
// Duration and a Cues index on Close; on a pipe it streams without them.
// WebMWriter never closes w. Its methods are safe for concurrent use.
type WebMWriter struct {
	opts    WebMOptions
	w       io.Writer
	log     *slog.Logger
	mu      sync.Mutex
	tracks  []webm.BlockWriteCloser
	video   webm.BlockWriteCloser
	audio   webm.BlockWriteCloser
	started bool
	closed  bool
	skipped int

	fatalMu  sync.Mutex
	fatalErr error // first fatal error from ebml-go
}

// NewWebMWriter returns a writer to w. opts is copied; optFns modify the copy.
func NewWebMWriter(w io.Writer, opts WebMOptions, optFns ...func(*WebMOptions)) (*WebMWriter, error) {
	for _, fn := range optFns {
		fn(&opts)
	}
	if w == nil {
		return nil, errors.New("media: new webm writer: nil writer")
	}
	switch opts.Video {
	case CodecUnknown, CodecH264, CodecVP8:
	default:
		return nil, fmt.Errorf("media: new webm writer: video codec %v: %w", opts.Video, ErrUnsupported)
	}
	switch opts.Audio {
	case CodecUnknown, CodecOpus:
	default:
		return nil, fmt.Errorf("media: new webm writer: audio codec %v: %w", opts.Audio, ErrUnsupported)
	}
	if opts.Video == CodecUnknown && opts.Audio == CodecUnknown {
		return nil, errors.New("media: new webm writer: no tracks")
	}
	if opts.AudioChannels <= 0 {
		opts.AudioChannels = 2
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebMWriter{opts: opts, w: w, log: log.With("component", "media")}, nil
}

// DocType returns "matroska" when the file carries H.264, else "webm".
func (w *WebMWriter) DocType() string {
	if w.opts.Video == CodecH264 {
		return "matroska"
	}
	return "webm"
}

// Skipped returns how many frames were dropped before the first keyframe.
func (w *WebMWriter) Skipped() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.skipped
}

// WriteVideo writes one video frame. Frames must come in timestamp order.
func (w *WebMWriter) WriteVideo(f Frame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(); err != nil {
		return err
	}
	if w.opts.Video == CodecUnknown {
		return errors.New("media: webm: no video track")
	}
	if !w.started {
		if !f.Keyframe {
			w.skipped++
			return nil
		}
		if err := w.start(f); err != nil {
			return err
		}
	}
	data := f.Data
	if w.opts.Video == CodecH264 {
		data = AnnexBToAVC(f.Data)
	} else {
		data = append([]byte(nil), data...) // ebml-go writes asynchronously
	}
	if _, err := w.video.Write(f.Keyframe, f.Timestamp.Milliseconds(), data); err != nil {
		return fmt.Errorf("media: webm: write video: %w", err)
	}
	return nil
}

// WriteAudio writes one audio frame. Frames must come in timestamp order.
func (w *WebMWriter) WriteAudio(f Frame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(); err != nil {
		return err
	}
	if w.opts.Audio == CodecUnknown {
		return errors.New("media: webm: no audio track")
	}
	if !w.started {
		if w.opts.Video != CodecUnknown {
			w.skipped++
			return nil
		}
		if err := w.start(Frame{}); err != nil {
			return err
		}
	}
	data := append([]byte(nil), f.Data...)
	if _, err := w.audio.Write(true, f.Timestamp.Milliseconds(), data); err != nil {
		return fmt.Errorf("media: webm: write audio: %w", err)
	}
	return nil
}

func (w *WebMWriter) check() error {
	if w.closed {
		return ErrClosed
	}
	w.fatalMu.Lock()
	defer w.fatalMu.Unlock()
	return w.fatalErr
}

// start writes the header, taking codec parameters from the first video
// keyframe key (zero Frame for audio-only files).
func (w *WebMWriter) start(key Frame) error {
	var tracks []webm.TrackEntry
	num := uint64(1)
	if w.opts.Video != CodecUnknown {
		width, height := w.opts.Width, w.opts.Height
		t := webm.TrackEntry{Name: "video", TrackNumber: num, TrackUID: num, TrackType: 1}
		var err error
		switch w.opts.Video {
		case CodecH264:
			sps, pps := ParameterSets(key.Data)
			if t.CodecPrivate, err = AVCDecoderConfig(sps, pps); err != nil {
				return fmt.Errorf("media: webm: first keyframe: %w", err)
			}
			t.CodecID = "V_MPEG4/ISO/AVC"
			if width <= 0 || height <= 0 {
				if width, height, err = SPSDimensions(sps); err != nil {
					return fmt.Errorf("media: webm: first keyframe: %w", err)
				}
			}
		case CodecVP8:
			t.CodecID = "V_VP8"
			if width <= 0 || height <= 0 {
				if width, height, err = VP8Dimensions(key.Data); err != nil {
					return fmt.Errorf("media: webm: first keyframe: %w", err)
				}
			}
		}
		t.Video = &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)}
		tracks = append(tracks, t)
		num++
	}
	if w.opts.Audio == CodecOpus {
		tracks = append(tracks, webm.TrackEntry{
			Name: "audio", TrackNumber: num, TrackUID: num, TrackType: 2,
			CodecID:      "A_OPUS",
			CodecPrivate: opusHead(w.opts.AudioChannels, w.opts.OpusPreSkip),
			CodecDelay:   uint64(w.opts.OpusPreSkip) * 1e9 / OpusSampleRate,
			SeekPreRoll:  80e6, // 80 ms, as the Matroska Opus mapping advises
			Audio:        &webm.Audio{SamplingFrequency: OpusSampleRate, Channels: uint64(w.opts.AudioChannels)},
		})
	}
	header := *webm.DefaultEBMLHeader
	header.DocType = w.DocType()
	sorter, err := mkvcore.NewMultiTrackBlockSorter(
		mkvcore.WithMaxDelayedPackets(16), mkvcore.WithSortRule(mkvcore.BlockSorterDropOutdated))
	if err != nil {
		return fmt.Errorf("media: webm: %w", err)
	}
	opts := []mkvcore.BlockWriterOption{
		mkvcore.WithEBMLHeader(&header),
		// A fresh Info per file: ebml-go sets Duration on the one it is given.
		mkvcore.WithSegmentInfo(&webm.Info{TimecodeScale: 1e6, MuxingApp: "kvsrtc", WritingApp: "kvsrtc"}),
		mkvcore.WithBlockInterceptor(sorter),
		mkvcore.WithOnFatalHandler(w.fatal),
		mkvcore.WithOnErrorHandler(func(err error) { w.log.Debug("webm: frame dropped", "err", err) }),
	}
	var out io.WriteCloser = nopWriteCloser{w.w}
	if ws, ok := w.w.(io.WriteSeeker); ok {
		out = nopWriteSeekCloser{ws}
		opts = append(opts, mkvcore.WithSeekHead(true), mkvcore.WithCues(4096))
	}
	if w.opts.Video != CodecUnknown {
		// New cluster at each video keyframe.
		opts = append(opts, mkvcore.WithMaxKeyframeInterval(1, 0x7fff-1))
	}
	bw, err := webm.NewSimpleBlockWriter(out, tracks, opts...)
	if err != nil {
		return fmt.Errorf("media: webm: write header: %w", err)
	}
	w.tracks = bw
	i := 0
	if w.opts.Video != CodecUnknown {
		w.video = bw[i]
		i++
	}
	if w.opts.Audio != CodecUnknown {
		w.audio = bw[i]
	}
	w.started = true
	return nil
}

// fatal runs on ebml-go's goroutine; it must not take w.mu, which a writer
// may hold while it waits for that goroutine.
func (w *WebMWriter) fatal(err error) {
	w.fatalMu.Lock()
	defer w.fatalMu.Unlock()
	if w.fatalErr == nil {
		w.fatalErr = fmt.Errorf("media: webm: %w", err)
	}
}

// Close finishes the file (last cluster, Cues and Duration when w is
// seekable) and waits for ebml-go's goroutines. It returns an error if no
// frame was ever written (no valid file exists then). Close is idempotent;
// later calls return nil.
func (w *WebMWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if !w.started {
		return errors.New("media: webm: closed before the first keyframe; nothing written")
	}
	for _, t := range w.tracks {
		_ = t.Close() // the last Close waits for the file to be finished
	}
	w.fatalMu.Lock()
	defer w.fatalMu.Unlock()
	return w.fatalErr
}

// opusHead builds the OpusHead that Matroska's A_OPUS CodecPrivate holds
// (RFC 7845 5.1, channel mapping family 0).
func opusHead(channels, preSkip int) []byte {
	return []byte{
		'O', 'p', 'u', 's', 'H', 'e', 'a', 'd',
		1, byte(channels), byte(preSkip), byte(preSkip >> 8),
		0x80, 0xbb, 0, 0, // 48000 Hz
		0, 0, // output gain
		0, // mapping family
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

type nopWriteSeekCloser struct{ io.WriteSeeker }

func (nopWriteSeekCloser) Close() error { return nil }
