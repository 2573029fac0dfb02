// Package mkv records the emulator's ingested WebRTC media (H.264 + Opus) as
// Matroska fragments, lists them and exports a time range as one file. It
// writes with at-wat/ebml-go directly: package media's writer records one
// file per viewer, not the fragments a stream is stored as (its H.264
// helpers are shared: media is a leaf package).
package mkv

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/kvsrtc/kvsrtc/media"
)

// opusSampleRate is WebRTC Opus's clock (RFC 7587).
const opusSampleRate = 48000

// file writes one Matroska file with an H.264 and an Opus track. Block
// timecodes are milliseconds since start, which the Segment Info's DateUTC
// carries, so every fragment places itself on the service's clock.
type file struct {
	start time.Time
	video webm.BlockWriteCloser
	audio webm.BlockWriteCloser
	all   []webm.BlockWriteCloser

	mu       sync.Mutex
	fatalErr error
	last     [2]int64 // last timecode written per track, to keep them increasing
}

// newFile writes the header to w, with codec parameters from key, the first
// video keyframe (Annex-B).
func newFile(w io.WriteSeeker, start time.Time, key []byte, channels int) (*file, error) {
	sps, pps := media.ParameterSets(key)
	priv, err := media.AVCDecoderConfig(sps, pps)
	if err != nil {
		return nil, fmt.Errorf("first keyframe: %w", err)
	}
	width, height, err := media.SPSDimensions(sps)
	if err != nil {
		return nil, fmt.Errorf("first keyframe: sps: %w", err)
	}
	tracks := []webm.TrackEntry{
		{Name: "video", TrackNumber: 1, TrackUID: 1, TrackType: 1, CodecID: "V_MPEG4/ISO/AVC", CodecPrivate: priv,
			Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)}},
		{Name: "audio", TrackNumber: 2, TrackUID: 2, TrackType: 2, CodecID: "A_OPUS", CodecPrivate: opusHead(channels),
			SeekPreRoll: 80e6, Audio: &webm.Audio{SamplingFrequency: opusSampleRate, Channels: uint64(channels)}},
	}
	f := &file{start: start, last: [2]int64{-1, -1}}
	header := *webm.DefaultEBMLHeader
	header.DocType = "matroska" // WebM admits no H.264
	sorter, err := mkvcore.NewMultiTrackBlockSorter(mkvcore.WithMaxDelayedPackets(16), mkvcore.WithSortRule(mkvcore.BlockSorterDropOutdated))
	if err != nil {
		return nil, err
	}
	bw, err := webm.NewSimpleBlockWriter(nopCloser{w}, tracks,
		mkvcore.WithEBMLHeader(&header),
		mkvcore.WithSegmentInfo(&webm.Info{TimecodeScale: 1e6, MuxingApp: "kvsrtc-emulator", WritingApp: "kvsrtc-emulator", DateUTC: start.UTC()}),
		mkvcore.WithBlockInterceptor(sorter),
		mkvcore.WithSeekHead(true), mkvcore.WithCues(4096),
		mkvcore.WithMaxKeyframeInterval(1, 0x7fff-1), // a cluster per keyframe
		mkvcore.WithOnFatalHandler(f.fatal),
	)
	if err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	f.all, f.video, f.audio = bw, bw[0], bw[1]
	return f, nil
}

func (f *file) fatal(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fatalErr == nil {
		f.fatalErr = err
	}
}

func (f *file) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatalErr
}

// timecode is t in ms since the file's start, kept increasing per track.
func (f *file) timecode(track int, t time.Time) int64 {
	tc := max(t.Sub(f.start).Milliseconds(), 0)
	if tc <= f.last[track] {
		tc = f.last[track] + 1
	}
	f.last[track] = tc
	return tc
}

// writeVideo writes an Annex-B access unit (converted to length-prefixed
// NAL units; SPS and PPS stay in-band).
func (f *file) writeVideo(t time.Time, au []byte, key bool) error {
	if err := f.err(); err != nil {
		return err
	}
	_, err := f.video.Write(key, f.timecode(0, t), media.AnnexBToAVC(au))
	return err
}

func (f *file) writeAudio(t time.Time, data []byte) error {
	if err := f.err(); err != nil {
		return err
	}
	_, err := f.audio.Write(true, f.timecode(1, t), append([]byte(nil), data...))
	return err
}

// close finishes the file (last cluster, Cues, Duration).
func (f *file) close() error {
	for _, t := range f.all {
		_ = t.Close()
	}
	return f.err()
}

// opusHead is the OpusHead of Matroska's A_OPUS CodecPrivate (RFC 7845
// 5.1, mapping family 0, no pre-skip: WebRTC Opus has none).
func opusHead(channels int) []byte {
	return []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, byte(channels), 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0}
}

type nopCloser struct{ io.WriteSeeker }

func (nopCloser) Close() error { return nil }

// errNoKeyframe reports a file closed before its first video keyframe.
var errNoKeyframe = errors.New("no video keyframe")
