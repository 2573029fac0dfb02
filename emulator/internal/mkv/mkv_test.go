package mkv

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// clip reads the repository's 5 s demo clips (media/clips) as access units
// and Opus packets.
func clip(t *testing.T) (video, audio [][]byte) {
	t.Helper()
	fh, err := os.Open("../../../media/clips/demo.h264")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	hr, err := h264reader.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var au []byte
	for {
		nal, err := hr.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		typ := nal.UnitType
		// A new access unit starts at an SPS or at a slice after a slice.
		if (typ == h264reader.NalUnitTypeSPS || typ == h264reader.NalUnitTypeCodedSliceIdr || typ == h264reader.NalUnitTypeCodedSliceNonIdr) && hasSlice(au) {
			video = append(video, au)
			au = nil
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
	}
	if hasSlice(au) {
		video = append(video, au)
	}
	oh, err := os.Open("../../../media/clips/demo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	defer oh.Close()
	or, _, err := oggreader.NewWith(oh)
	if err != nil {
		t.Fatal(err)
	}
	for {
		page, hdr, err := or.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.GranulePosition == 0 {
			continue // OpusHead, OpusTags
		}
		audio = append(audio, page)
	}
	return video, audio
}

func hasSlice(au []byte) bool {
	for _, n := range media.SplitAnnexB(au) {
		if t := n[0] & 0x1f; t == 1 || t == 5 {
			return true
		}
	}
	return false
}

// record writes the clip as a storage session received from start would.
func record(t *testing.T, r *Recorder, start time.Time, video, audio [][]byte) {
	t.Helper()
	vi, ai := 0, 0
	for vi < len(video) || ai < len(audio) {
		vt := start.Add(time.Duration(vi) * time.Second / 30)
		at := start.Add(time.Duration(ai) * 20 * time.Millisecond)
		if vi < len(video) && (ai >= len(audio) || !vt.After(at)) {
			if err := r.WriteVideo(vt, video[vi]); err != nil {
				t.Fatal(err)
			}
			vi++
		} else {
			if err := r.WriteAudio(at, audio[ai]); err != nil {
				t.Fatal(err)
			}
			ai++
		}
	}
}

type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Packets   string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// ffprobe reads path; any message on stderr fails t. Every frame is then
// decoded by ffmpeg, which must print nothing either.
func ffprobe(t *testing.T, path string) (probe, float64) {
	t.Helper()
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe not found: run ./test.sh, which installs ffmpeg")
	}
	cmd := exec.CommandContext(t.Context(), bin, "-v", "error", "-count_packets", "-show_entries",
		"stream=codec_name,width,nb_read_packets:format=duration", "-of", "json", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v\n%s", filepath.Base(path), err, stderr.String())
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	dec, err := exec.CommandContext(t.Context(), "ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(dec) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", filepath.Base(path), err, dec)
	}
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return p, d
}

func TestRecordAndExport(t *testing.T) {
	video, audio := clip(t)
	if len(video) != 150 || len(audio) < 240 {
		t.Fatalf("clip: %d video, %d audio frames", len(video), len(audio))
	}
	dir := t.TempDir()
	start := time.UnixMilli(1_800_000_000_000)
	r, err := NewRecorder(RecorderOptions{Dir: dir, FragmentDuration: time.Second, Session: "one"})
	if err != nil {
		t.Fatal(err)
	}
	record(t, r, start, video, audio)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	frags, err := ListFragments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 5 || !frags[0].Start.Equal(start) {
		t.Fatalf("want 5 one-second fragments from %v, got %+v", start, frags)
	}
	for _, f := range frags {
		if _, d := ffprobe(t, f.Path); d < 0.9 || d > 1.1 {
			t.Errorf("fragment %s lasts %.3f s", filepath.Base(f.Path), d)
		}
	}

	cases := []struct {
		name     string
		from, to time.Time
		min, max float64
	}{
		{"all", time.Time{}, time.Time{}, 4.9, 5.1},
		// From the middle of a GOP: the export starts at the next keyframe.
		{"range", start.Add(1500 * time.Millisecond), start.Add(4 * time.Second), 1.9, 2.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mkv")
			fh, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			st, err := Export(fh, frags, tc.from, tc.to)
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "all" && st.DroppedOverlap != 0 {
				t.Errorf("one session's fragments: %d frames dropped as overlap", st.DroppedOverlap)
			}
			p, d := ffprobe(t, out)
			if d < tc.min || d > tc.max || len(p.Streams) != 2 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 640 || p.Streams[1].CodecName != "opus" {
				t.Fatalf("exported %+v (%.3f s): %+v", st, d, p)
			}
		})
	}

	// A second session overlapping the first by half a second (the newer
	// session replaces the older): the overlap is dropped, the file stays
	// clean and lasts both sessions.
	r2, err := NewRecorder(RecorderOptions{Dir: dir, FragmentDuration: time.Second, Session: "two"})
	if err != nil {
		t.Fatal(err)
	}
	record(t, r2, start.Add(4500*time.Millisecond), video, audio)
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	frags, _ = ListFragments(dir)
	out := filepath.Join(t.TempDir(), "both.mkv")
	fh, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Export(fh, frags, time.Time{}, time.Time{})
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.DroppedOverlap == 0 {
		t.Errorf("no frame of the overlap was dropped: %+v", st)
	}
	if _, d := ffprobe(t, out); d < 9.3 || d > 9.7 {
		t.Fatalf("two sessions: %.3f s, want 9.5 (%+v)", d, st)
	}
}

func TestExportEmpty(t *testing.T) {
	frags, err := ListFragments(filepath.Join(t.TempDir(), "missing"))
	if err != nil || len(frags) != 0 {
		t.Fatalf("missing dir: %v %v", frags, err)
	}
	fh, err := os.Create(filepath.Join(t.TempDir(), "x.mkv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := Export(fh, nil, time.Time{}, time.Time{}); !errors.Is(err, errNoKeyframe) {
		t.Fatalf("export of nothing: %v", err)
	}
}
