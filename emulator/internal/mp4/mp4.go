// Package mp4 writes the emulator's GetClip payload: a traditional
// (non-fragmented) MP4 file, ISO/IEC 14496-12, with an H.264 track (avc1,
// ISO/IEC 14496-15) and an Opus track (Opus in ISOBMFF, dOps), from stored
// media read back by package mkv. It is written here rather than by running
// ffmpeg so that the emulator needs no external program.
//
// Layout: ftyp, mdat (every video sample, then every audio sample: one chunk
// per track), moov. No B-frames (WebRTC H.264 has none), so no ctts.
package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator/internal/mkv"
	"github.com/kvsrtc/kvsrtc/media"
)

const (
	movieTimescale = 1000  // mvhd, tkhd, elst: milliseconds
	videoTimescale = 90000 // the RTP clock of H.264
	audioTimescale = 48000 // Opus
)

// ErrEmpty reports a clip without video.
var ErrEmpty = errors.New("no video samples")

// Write writes c as an MP4 file to w and returns its size.
func Write(w io.Writer, c *mkv.Clip) (int64, error) {
	if c == nil || len(c.Video) == 0 {
		return 0, ErrEmpty
	}
	var videoBytes, audioBytes uint64
	for _, s := range c.Video {
		videoBytes += uint64(len(s.Data))
	}
	for _, s := range c.Audio {
		audioBytes += uint64(len(s.Data))
	}
	if videoBytes+audioBytes > math.MaxUint32-8 {
		return 0, fmt.Errorf("clip of %d bytes: too large for one mdat", videoBytes+audioBytes)
	}
	ftyp := box("ftyp", []byte("isom"), u32(0x200), []byte("isomiso2avc1mp41"))
	videoOffset := uint32(len(ftyp) + 8)
	audioOffset := videoOffset + uint32(videoBytes)

	vDur, vStts := videoTiming(c.Video)
	traks := [][]byte{videoTrak(c, vDur, vStts, videoOffset)}
	movieDur := scale(vDur, videoTimescale, movieTimescale)
	if len(c.Audio) > 0 {
		t, d := audioTrak(c, audioOffset)
		traks = append(traks, t)
		movieDur = max(movieDur, d)
	}
	moov := box("moov", append([][]byte{mvhd(movieDur, uint32(len(traks)+1))}, traks...)...)

	cw := &counter{w: w}
	cw.write(ftyp)
	cw.write(u32(uint32(8 + videoBytes + audioBytes)))
	cw.write([]byte("mdat"))
	for _, s := range c.Video {
		cw.write(s.Data)
	}
	for _, s := range c.Audio {
		cw.write(s.Data)
	}
	cw.write(moov)
	return cw.n, cw.err
}

// videoTiming is the video track's duration and stts entries (count,
// delta) in the 90 kHz timescale: each sample lasts until the next; the
// last as long as the one before it (1/30 s alone).
func videoTiming(v []mkv.Sample) (uint64, [][2]uint32) {
	deltas := make([]uint32, len(v))
	for i := range v {
		switch {
		case i+1 < len(v):
			deltas[i] = uint32(max(scale(uint64(max(v[i+1].Time-v[i].Time, 0)), uint64(time.Second), videoTimescale), 1))
		case i > 0:
			deltas[i] = deltas[i-1]
		default:
			deltas[i] = videoTimescale / 30
		}
	}
	var total uint64
	for _, d := range deltas {
		total += uint64(d)
	}
	return total, runs(deltas)
}

func runs(deltas []uint32) [][2]uint32 {
	var out [][2]uint32
	for _, d := range deltas {
		if n := len(out); n > 0 && out[n-1][1] == d {
			out[n-1][0]++
		} else {
			out = append(out, [2]uint32{1, d})
		}
	}
	return out
}

func scale(v, from, to uint64) uint64 { return v * to / from }

func videoTrak(c *mkv.Clip, dur uint64, stts [][2]uint32, offset uint32) []byte {
	var keys []uint32
	sizes := make([]uint32, len(c.Video))
	for i, s := range c.Video {
		sizes[i] = uint32(len(s.Data))
		if s.Key {
			keys = append(keys, uint32(i+1))
		}
	}
	entry := concat(make([]byte, 6), u16(1), // reserved, data_reference_index
		make([]byte, 16),                            // pre_defined, reserved, pre_defined[3]
		u16(uint16(c.Width)), u16(uint16(c.Height)), // width, height
		u32(0x00480000), u32(0x00480000), u32(0), u16(1), // 72 dpi, reserved, frame_count
		make([]byte, 32), u16(0x18), u16(0xffff)) // compressorname, depth, pre_defined -1
	avc1 := box("avc1", entry, box("avcC", c.AVCConfig))
	stbl := box("stbl",
		fullBox("stsd", 0, 0, u32(1), avc1),
		stts2(stts),
		fullBox("stss", 0, 0, u32(uint32(len(keys))), u32s(keys)),
		stsc(uint32(len(c.Video))),
		stsz(sizes),
		fullBox("stco", 0, 0, u32(1), u32(offset)))
	minf := box("minf", fullBox("vmhd", 0, 1, make([]byte, 8)), dinf(), stbl)
	mdia := box("mdia", mdhd(videoTimescale, dur), hdlr("vide", "VideoHandler"), minf)
	return box("trak", tkhd(1, scale(dur, videoTimescale, movieTimescale), 0, uint32(c.Width), uint32(c.Height)), mdia)
}

// audioTrak returns the Opus track and its duration in the movie timescale
// (with the edit that starts it where its first packet is, after the first
// video frame).
func audioTrak(c *mkv.Clip, offset uint32) ([]byte, uint64) {
	deltas := make([]uint32, len(c.Audio))
	sizes := make([]uint32, len(c.Audio))
	var dur uint64
	for i, s := range c.Audio {
		deltas[i] = uint32(opusSamples(s.Data))
		sizes[i] = uint32(len(s.Data))
		dur += uint64(deltas[i])
	}
	channels := max(c.Channels, 1)
	entry := concat(make([]byte, 6), u16(1), make([]byte, 8), // reserved, data_reference_index, reserved
		u16(uint16(channels)), u16(16), u16(0), u16(0), u32(audioTimescale<<16))
	dOps := box("dOps", []byte{0, byte(channels)}, u16(0), u32(audioTimescale), u16(0), []byte{0})
	stbl := box("stbl",
		fullBox("stsd", 0, 0, u32(1), box("Opus", entry, dOps)),
		stts2(runs(deltas)),
		stsc(uint32(len(c.Audio))),
		stsz(sizes),
		fullBox("stco", 0, 0, u32(1), u32(offset)))
	minf := box("minf", fullBox("smhd", 0, 0, make([]byte, 4)), dinf(), stbl)
	mdia := box("mdia", mdhd(audioTimescale, dur), hdlr("soun", "SoundHandler"), minf)
	mediaMs := scale(dur, audioTimescale, movieTimescale)
	delay := uint64(max(c.Audio[0].Time, 0) / time.Millisecond)
	var edts []byte
	if delay > 0 {
		// An empty edit, then the media from its start (elst v0).
		edts = box("edts", fullBox("elst", 0, 0, u32(2),
			u32(uint32(delay)), u32(0xffffffff), u32(0x00010000),
			u32(uint32(mediaMs)), u32(0), u32(0x00010000)))
	}
	total := delay + mediaMs
	return box("trak", tkhd(2, total, 0x0100, 0, 0), edts, mdia), total
}

// opusSamples is a packet's duration at 48 kHz from its TOC byte
// (media.OpusPacketSamples); a packet it cannot read counts as 20 ms.
func opusSamples(p []byte) int {
	if n, err := media.OpusPacketSamples(p); err == nil {
		return n
	}
	return 960
}

var matrix = concat(u32(0x00010000), u32(0), u32(0), u32(0), u32(0x00010000), u32(0), u32(0), u32(0), u32(0x40000000))

func mvhd(dur uint64, nextTrack uint32) []byte {
	return fullBox("mvhd", 0, 0, u32(0), u32(0), u32(movieTimescale), u32(uint32(dur)),
		u32(0x00010000), u16(0x0100), make([]byte, 10), matrix, make([]byte, 24), u32(nextTrack))
}

func tkhd(id uint32, dur uint64, volume uint16, width, height uint32) []byte {
	return fullBox("tkhd", 0, 3, u32(0), u32(0), u32(id), u32(0), u32(uint32(dur)),
		make([]byte, 8), u16(0), u16(0), u16(volume), u16(0), matrix, u32(width<<16), u32(height<<16))
}

func mdhd(timescale uint32, dur uint64) []byte {
	return fullBox("mdhd", 0, 0, u32(0), u32(0), u32(timescale), u32(uint32(dur)), u16(0x55c4), u16(0)) // und
}

func hdlr(kind, name string) []byte {
	return fullBox("hdlr", 0, 0, u32(0), []byte(kind), make([]byte, 12), []byte(name), []byte{0})
}

func dinf() []byte {
	return box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)))
}

func stts2(entries [][2]uint32) []byte {
	b := u32(uint32(len(entries)))
	for _, e := range entries {
		b = append(append(b, u32(e[0])...), u32(e[1])...)
	}
	return fullBox("stts", 0, 0, b)
}

// stsc: every sample in one chunk.
func stsc(n uint32) []byte { return fullBox("stsc", 0, 0, u32(1), u32(1), u32(n), u32(1)) }

func stsz(sizes []uint32) []byte {
	return fullBox("stsz", 0, 0, u32(0), u32(uint32(len(sizes))), u32s(sizes))
}

func box(typ string, parts ...[]byte) []byte {
	body := concat(parts...)
	return concat(u32(uint32(8+len(body))), []byte(typ), body)
}

func fullBox(typ string, version byte, flags uint32, parts ...[]byte) []byte {
	return box(typ, append([]byte{version, byte(flags >> 16), byte(flags >> 8), byte(flags)}, concat(parts...)...))
}

func concat(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func u32s(vs []uint32) []byte {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

type counter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *counter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}
