package media

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type probeResult struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		Channels  int    `json:"channels"`
		Packets   string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// ffprobe runs ffprobe -v error on path; any message on stderr fails t.
func ffprobe(t *testing.T, path string) probeResult {
	t.Helper()
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe not found: run ./test.sh, which installs ffmpeg")
	}
	cmd := exec.CommandContext(t.Context(), bin, "-v", "error", "-count_packets", "-show_entries",
		"stream=codec_name,width,height,channels,nb_read_packets:format=format_name,duration", "-of", "json", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v\n%s", filepath.Base(path), err, stderr.String())
	}
	var r probeResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return r
}

// ffmpegDecode decodes every frame of path; any message fails t.
func ffmpegDecode(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not found: run ./test.sh, which installs ffmpeg")
	}
	out, err := exec.CommandContext(t.Context(), bin, "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", filepath.Base(path), err, out)
	}
}

func demoReader(t *testing.T, c Codec) FrameReader {
	t.Helper()
	var r FrameReader
	var err error
	switch c {
	case CodecH264:
		r, err = NewAnnexBReader(DemoH264(), 30)
	case CodecVP8:
		r, err = NewIVFReader(DemoVP8())
	case CodecOpus:
		r, err = NewOggReader(DemoOpus())
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// onlyWriter hides Seek, like a pipe.
type onlyWriter struct{ io.Writer }

func TestWebMWriter(t *testing.T) {
	tests := []struct {
		name     string
		video    Codec
		audio    Codec
		seekable bool
		ext      string
		format   string // ffprobe format_name contains
		codecs   []string
	}{
		{"h264", CodecH264, CodecUnknown, true, ".mkv", "matroska", []string{"h264"}},
		{"vp8", CodecVP8, CodecUnknown, true, ".webm", "webm", []string{"vp8"}},
		{"opus", CodecUnknown, CodecOpus, true, ".webm", "webm", []string{"opus"}},
		{"h264+opus", CodecH264, CodecOpus, true, ".mkv", "matroska", []string{"h264", "opus"}},
		{"vp8+opus", CodecVP8, CodecOpus, true, ".webm", "webm", []string{"vp8", "opus"}},
		{"h264+opus streamed", CodecH264, CodecOpus, false, ".mkv", "matroska", []string{"h264", "opus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec"+tt.ext)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var out io.Writer = f
			if !tt.seekable {
				out = onlyWriter{f}
			}
			w, err := NewWebMWriter(out, WebMOptions{Video: tt.video, Audio: tt.audio})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(tt.format, w.DocType()) {
				t.Errorf("DocType %q, want %q", w.DocType(), tt.format)
			}
			// Interleave by timestamp as a live recorder would.
			var vr, ar FrameReader
			var vf, af *Frame
			next := func(r FrameReader) *Frame {
				if r == nil {
					return nil
				}
				f, err := r.ReadFrame()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					t.Fatal(err)
				}
				return &f
			}
			if tt.video != CodecUnknown {
				vr = demoReader(t, tt.video)
				vf = next(vr)
			}
			if tt.audio != CodecUnknown {
				ar = demoReader(t, tt.audio)
				af = next(ar)
			}
			for vf != nil || af != nil {
				if vf != nil && (af == nil || vf.Timestamp <= af.Timestamp) {
					if err := w.WriteVideo(*vf); err != nil {
						t.Fatal(err)
					}
					vf = next(vr)
				} else {
					if err := w.WriteAudio(*af); err != nil {
						t.Fatal(err)
					}
					af = next(ar)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteVideo(Frame{}); !errors.Is(err, ErrClosed) && tt.video != CodecUnknown {
				t.Errorf("write after Close: %v", err)
			}
			if w.Skipped() != 0 {
				t.Errorf("%d frames skipped", w.Skipped())
			}

			p := ffprobe(t, path)
			var codecs []string
			for _, s := range p.Streams {
				codecs = append(codecs, s.CodecName)
				if want := map[string]string{"h264": "150", "vp8": "150", "opus": "251"}[s.CodecName]; s.Packets != want {
					t.Errorf("%s: %s packets, want %s", s.CodecName, s.Packets, want)
				}
				switch s.CodecName {
				case "h264":
					if s.Width != 640 || s.Height != 480 {
						t.Errorf("h264 %dx%d, want 640x480", s.Width, s.Height)
					}
				case "vp8":
					if s.Width != 320 || s.Height != 240 {
						t.Errorf("vp8 %dx%d, want 320x240", s.Width, s.Height)
					}
				case "opus":
					if s.Channels != 2 {
						t.Errorf("opus channels %d", s.Channels)
					}
				}
			}
			if !slices.Equal(codecs, tt.codecs) {
				t.Errorf("codecs %v, want %v", codecs, tt.codecs)
			}
			if !strings.Contains(p.Format.FormatName, tt.format) {
				t.Errorf("format %q, want %q", p.Format.FormatName, tt.format)
			}
			if tt.seekable {
				d, err := strconv.ParseFloat(p.Format.Duration, 64)
				if err != nil || d < 4.8 || d > 5.2 {
					t.Errorf("duration %q, want 5 ± 0.2 s", p.Format.Duration)
				}
			}
			ffmpegDecode(t, path)
		})
	}
}

func TestWebMWriterWaitsForKeyframe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.mkv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewWebMWriter(f, WebMOptions{Video: CodecH264, Audio: CodecOpus})
	if err != nil {
		t.Fatal(err)
	}
	r := demoReader(t, CodecH264)
	fs := readAll(t, r)
	if err := w.WriteAudio(Frame{Data: []byte{0xfc, 0}, Keyframe: true}); err != nil {
		t.Fatal(err)
	}
	for _, fr := range fs[10:] { // joins mid-GOP: 20 frames before the keyframe at 30
		if err := w.WriteVideo(fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Skipped() != 21 {
		t.Errorf("skipped %d frames, want 21 (1 audio + 20 video)", w.Skipped())
	}
	ffmpegDecode(t, path)

	empty, err := NewWebMWriter(io.Discard, WebMOptions{Video: CodecVP8})
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Close(); err == nil {
		t.Error("Close with nothing written returned nil")
	}
	if _, err := NewWebMWriter(io.Discard, WebMOptions{Video: CodecOpus}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("opus as video: %v", err)
	}
}
