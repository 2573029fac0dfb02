package session_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsrtc/kvsrtc/emulator"
	"github.com/kvsrtc/kvsrtc/media"
	"github.com/kvsrtc/kvsrtc/session"
)

// frameLogs collects frame fingerprints per codec.
type frameLogs struct {
	mu   sync.Mutex
	logs map[media.Codec]*media.FrameLog
}

func (l *frameLogs) add(c media.Codec, f media.Frame) {
	l.mu.Lock()
	if l.logs == nil {
		l.logs = map[media.Codec]*media.FrameLog{}
	}
	if l.logs[c] == nil {
		l.logs[c] = media.NewFrameLog(c)
	}
	lg := l.logs[c]
	l.mu.Unlock()
	lg.Add(f)
}

func (l *frameLogs) get(c media.Codec) *media.FrameLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.logs[c] == nil {
		return media.NewFrameLog(c)
	}
	return l.logs[c]
}

func demoSource(t testing.TB, c media.Codec, loop, unpaced bool) *media.Source {
	t.Helper()
	r := media.DemoH264()
	switch c {
	case media.CodecOpus:
		r = media.DemoOpus()
	case media.CodecVP8:
		r = media.DemoVP8()
	}
	s, err := media.NewSource(r, media.SourceOptions{Codec: c, Loop: loop, Unpaced: unpaced})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMediaEndToEnd streams the 5 s demo clip, in real time, from a master
// to a viewer through the emulator, over host candidates and over the
// emulator's TURN relay, and checks that every frame sent arrived unaltered
// and in order (FrameLog checksums) and that ffprobe reads the recording.
func TestMediaEndToEnd(t *testing.T) {
	tests := []struct {
		name  string
		video media.Codec
		relay session.RelayTransport
		turn  bool
		ext   string
	}{
		{"host/h264", media.CodecH264, session.RelayAny, false, ".mkv"},
		{"turn-udp/h264", media.CodecH264, session.RelayUDP, true, ".mkv"},
		{"turn-tcp/vp8", media.CodecVP8, session.RelayTCP, true, ".webm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Plain-TCP TURN is off by default, as with the service
			// (§13); this case asks for it.
			v := newEnvWith(t, "e2e", emulator.Options{TURNPlainTCP: tt.relay == session.RelayTCP})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			video, audio := demoSource(t, tt.video, false, false), demoSource(t, media.CodecOpus, false, false)
			var sent, received frameLogs
			var joined sync.WaitGroup
			joined.Add(1)
			mopts := session.MasterOptions{Options: v.options(), Video: video, Audio: audio,
				OnFrameSent: func(_ string, c media.Codec, f media.Frame) { sent.add(c, f) }}
			mopts.ForceTURN, mopts.RelayTransport = tt.turn, tt.relay
			master, err := session.NewMaster(mopts)
			if err != nil {
				t.Fatal(err)
			}
			defer master.Close()
			recPath := filepath.Join(t.TempDir(), "rec"+tt.ext)
			rec, err := os.Create(recPath)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Close()
			vopts := session.ViewerOptions{Options: v.options(), ClientID: "viewer-1", Record: rec,
				OnFrame: func(c media.Codec, f media.Frame) { received.add(c, f) }}
			vopts.ForceTURN, vopts.RelayTransport = tt.turn, tt.relay
			viewer, err := session.NewViewer(vopts)
			if err != nil {
				t.Fatal(err)
			}
			defer viewer.Close()

			errs := make(chan error, 2)
			go func() { errs <- master.Run(ctx) }()
			waitFor(t, 10*time.Second, "master connected", func() bool { return master.Timeline().Has(session.StepConnect) })
			go func() { errs <- viewer.Run(ctx) }()
			waitFor(t, 10*time.Second, "DTLS up", func() bool { return viewer.Timeline().Has(session.StepDTLSConnected) })
			start := time.Now()
			var src sync.WaitGroup
			for _, s := range []*media.Source{video, audio} {
				src.Add(1)
				go func() {
					defer src.Done()
					if err := s.Run(ctx); err != nil {
						t.Errorf("source: %v", err)
					}
				}()
			}
			src.Wait()
			if d := time.Since(start); d < 4500*time.Millisecond {
				t.Errorf("clip took %v, want real time (5 s)", d)
			}
			for _, s := range []*media.Source{video, audio} {
				c, published := s.Codec(), s.Stats().Published
				waitFor(t, 5*time.Second, "every "+c.String()+" frame", func() bool {
					return sent.get(c).Len() == published && received.get(c).Len() >= published
				})
			}
			stats := viewer.Stats()
			if err := viewer.Close(); err != nil {
				t.Fatal(err)
			}
			if err := master.Close(); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Errorf("run: %v", err)
				}
			}
			for _, c := range []media.Codec{tt.video, media.CodecOpus} {
				s, r := sent.get(c), received.get(c)
				n, err := s.Match(r)
				if err != nil || n != s.Len() || r.Len() != s.Len() {
					ss, rs := s.Sums(), r.Sums()
					t.Logf("sent first %v last %v; received first %v last %v", ss[:2], ss[len(ss)-2:], rs[:2], rs[len(rs)-2:])
					t.Errorf("%s: sent %d, received %d, matched %d: %v", c, s.Len(), r.Len(), n, err)
				}
			}
			if want := 150; sent.get(tt.video).Len() < want {
				t.Errorf("sent %d video frames, want the whole clip (%d)", sent.get(tt.video).Len(), want)
			}
			t.Logf("stats %+v", stats)
			if tt.turn && v.e.TURN().Allocations() == 0 {
				t.Error("no TURN allocation with --force-turn")
			}
			checkTimeline(t, viewer.Timeline(), viewerSteps)
			rec.Close()
			probe(t, recPath, tt.video, 5.0)
		})
	}
}

// viewerSteps are the steps of a viewer's timeline, each after the one
// before it except where noted in checkTimeline.
var viewerSteps = []string{session.StepEndpoints, session.StepICEServers, session.StepPeerConnection,
	session.StepOfferSent, session.StepAnswer, session.StepICEConnected, session.StepDTLSConnected, session.StepFirstVideo}

// checkTimeline checks that every step is there and ends no earlier than
// the one before it.
func checkTimeline(t *testing.T, tl *session.Timeline, steps []string) {
	t.Helper()
	prev := -1.0
	for _, name := range steps {
		s, ok := tl.Step(name)
		if !ok {
			t.Errorf("timeline has no %s: %+v", name, tl.Steps())
			continue
		}
		if s.EndMs < prev {
			t.Errorf("%s ends at %.1f ms, before the step before it (%.1f ms)", name, s.EndMs, prev)
		}
		prev = s.EndMs
	}
}

// probe checks a recording with ffprobe: no errors, the codec, the
// duration within 10%.
func probe(t *testing.T, path string, video media.Codec, seconds float64) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("no ffprobe")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
		"-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	var r struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		}
		Format struct {
			Duration string
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	var codecs []string
	for _, s := range r.Streams {
		codecs = append(codecs, s.CodecName)
	}
	if got, want := strings.Join(codecs, ","), video.String()+",opus"; got != want {
		t.Errorf("codecs %s, want %s", got, want)
	}
	d, _ := strconv.ParseFloat(r.Format.Duration, 64)
	if d < seconds*0.9 || d > seconds*1.1 {
		t.Errorf("duration %.2f s, want %.1f", d, seconds)
	}
	// Decode it all: errors in the stream show up here.
	dec, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(dec))) > 0 {
		t.Errorf("ffmpeg decode: %v\n%s", err, dec)
	}
	_ = fmt.Sprint
}
