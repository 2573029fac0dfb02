package mkv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// Fragment is one finished fragment file.
type Fragment struct {
	Path       string
	Start, End time.Time
	Size       int64
	// Session is the storage session that wrote it ("" if not named).
	Session string
}

// ListFragments returns the finished fragments in dir, oldest first.
// Fragments still being written (.part) are left out. A missing dir is
// an empty list.
func ListFragments(dir string) ([]Fragment, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Fragment
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".mkv")
		if !ok || e.IsDir() {
			continue
		}
		name, session, _ := strings.Cut(name, ".")
		a, b, ok := strings.Cut(name, "-")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Fragment{Path: filepath.Join(dir, e.Name()), Start: time.UnixMilli(start), End: time.UnixMilli(end), Size: info.Size(), Session: session})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// ExportStats describes an exported file.
type ExportStats struct {
	Fragments           int
	VideoFrames, Audio  int
	First, Last         time.Time
	DroppedBeforeKey    int
	DroppedOverlap      int
	UnreadableFragments int
}

type frame struct {
	t     time.Time
	track uint64
	key   bool
	data  []byte // video: length-prefixed NAL units as stored
	seq   int
}

// Export writes the media of frags between from and to (zero: unbounded)
// to w as one Matroska file that begins at a video keyframe. Fragments of
// one session never overlap; where a fragment starts before an earlier one
// ends, a newer session replaced an older one, so the older's frames from
// the newer's start (a keyframe) on are dropped.
func Export(w io.WriteSeeker, frags []Fragment, from, to time.Time) (ExportStats, error) {
	return export(frags, from, to, func(t time.Time, key []byte, channels int) (frameSink, error) {
		return newFile(w, t, key, channels)
	})
}

// frameSink receives what an export selects: from a video keyframe on,
// video (Annex-B) and audio in time order, each track's times increasing.
// A Matroska file (*file) is one; GetClip's MP4 collector another.
type frameSink interface {
	writeVideo(t time.Time, au []byte, key bool) error
	writeAudio(t time.Time, data []byte) error
	close() error
}

// export selects the frames of frags between from and to and writes them
// to the sink begin makes at the first keyframe.
func export(frags []Fragment, from, to time.Time, begin func(t time.Time, key []byte, channels int) (frameSink, error)) (ExportStats, error) {
	var st ExportStats
	var frames []frame
	channels := 2
	seq := 0
	frags = append([]Fragment(nil), frags...)
	sort.SliceStable(frags, func(i, j int) bool { return frags[i].Start.Before(frags[j].Start) })
	perFrag := make([][]frame, len(frags))
	var deltas []time.Duration // video frame spacing within fragments
	for i, fr := range frags {
		if (!to.IsZero() && !fr.Start.Before(to)) || (!from.IsZero() && fr.End.Before(from)) {
			continue
		}
		doc, err := readFile(fr.Path)
		if err != nil {
			st.UnreadableFragments++
			continue
		}
		st.Fragments++
		base := fr.Start
		if !doc.Segment.Info.DateUTC.IsZero() {
			base = doc.Segment.Info.DateUTC
		}
		for _, t := range doc.Segment.Tracks.TrackEntry {
			if t.CodecID == "A_OPUS" && t.Audio != nil && t.Audio.Channels > 0 {
				channels = int(t.Audio.Channels)
			}
		}
		var lastV time.Time
		for _, cl := range doc.Segment.Cluster {
			for _, b := range cl.SimpleBlock {
				if len(b.Data) == 0 {
					continue
				}
				t := base.Add(time.Duration(int64(cl.Timecode)+int64(b.Timecode)) * time.Millisecond)
				if b.TrackNumber == 1 {
					if !lastV.IsZero() {
						deltas = append(deltas, t.Sub(lastV))
					}
					lastV = t
				}
				perFrag[i] = append(perFrag[i], frame{t: t, track: b.TrackNumber, key: b.Keyframe, data: b.Data[0], seq: seq})
				seq++
			}
		}
	}
	// One video frame interval (the median spacing): an older session is
	// cut that far before a newer one's start, so the two never share a
	// frame's slot (players and ffmpeg map timestamps to frame ticks).
	interval := 33 * time.Millisecond
	if len(deltas) > 0 {
		sort.Slice(deltas, func(i, j int) bool { return deltas[i] < deltas[j] })
		interval = max(deltas[len(deltas)/2], time.Millisecond)
	}
	for i, fr := range frags {
		var cutoff time.Time // a newer session's start inside (or right after) this fragment
		for _, later := range frags[i+1:] {
			if fr.Session != "" && later.Session == fr.Session {
				continue // a session's own next fragment
			}
			if later.Start.Before(fr.End.Add(interval)) && (cutoff.IsZero() || later.Start.Before(cutoff)) {
				cutoff = later.Start
			}
		}
		for _, f := range perFrag[i] {
			if !cutoff.IsZero() && f.t.After(cutoff.Add(-interval)) {
				st.DroppedOverlap++
				continue
			}
			frames = append(frames, f)
		}
	}
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].t.Before(frames[j].t) })

	var out frameSink
	var lastVideo, lastAudio time.Time
	needKey := true
	for _, f := range frames {
		if (!from.IsZero() && f.t.Before(from)) || (!to.IsZero() && !f.t.Before(to)) {
			continue
		}
		video := f.track == 1
		if video {
			if !lastVideo.IsZero() && !f.t.After(lastVideo) {
				st.DroppedOverlap++
				needKey = true // what follows depends on a dropped frame
				continue
			}
			if needKey && !f.key {
				st.DroppedBeforeKey++
				continue
			}
			needKey = false
			if out == nil {
				var err error
				if out, err = begin(f.t, avcToAnnexB(f.data), channels); err != nil {
					return st, fmt.Errorf("export: %w", err)
				}
				st.First = f.t
			}
			if err := out.writeVideo(f.t, avcToAnnexB(f.data), f.key); err != nil {
				return st, fmt.Errorf("export: %w", err)
			}
			lastVideo = f.t
			st.VideoFrames++
		} else {
			if out == nil {
				st.DroppedBeforeKey++
				continue
			}
			if !lastAudio.IsZero() && !f.t.After(lastAudio) {
				st.DroppedOverlap++
				continue
			}
			if err := out.writeAudio(f.t, f.data); err != nil {
				return st, fmt.Errorf("export: %w", err)
			}
			lastAudio = f.t
			st.Audio++
		}
		if f.t.After(st.Last) {
			st.Last = f.t
		}
	}
	if out == nil {
		return st, fmt.Errorf("export: %w in the range", errNoKeyframe)
	}
	if err := out.close(); err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	return st, nil
}

type document struct {
	Header  webm.EBMLHeader `ebml:"EBML"`
	Segment webm.Segment    `ebml:"Segment"`
}

func readFile(path string) (*document, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var doc document
	if err := ebml.Unmarshal(fh, &doc); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return &doc, nil
}

// avcToAnnexB turns 4-byte length-prefixed NAL units back into Annex-B.
func avcToAnnexB(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for len(b) >= 4 {
		n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		b = b[4:]
		if n > len(b) {
			break
		}
		out = append(out, 0, 0, 0, 1)
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return out
}
