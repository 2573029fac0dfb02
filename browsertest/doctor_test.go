package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// doctorCheck is one check of `kvsrtc doctor --json`.
type doctorCheck struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	StartMs float64 `json:"startMs"`
	EndMs   float64 `json:"endMs"`
}

// TestDoctorReport draws `kvsrtc doctor --report` in Chromium: the SVG
// parses, there is one bar per check with the JSON's times, each bar is on
// screen with a size, and bars that start later are drawn further right.
// The screenshot is an artifact (doctor-report.png, with doctor.svg).
func TestDoctorReport(t *testing.T) {
	ev := newEnv(t, "doc")
	startMaster(t, ev)
	svg := artifact(t, "doctor.svg")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := runKvsrtc(t, ctx, ev.e, "doctor", "--channel-arn", ev.arn.String(), "--json", "--report", svg)
	var rep struct {
		Checks []doctorCheck `json:"checks"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("kvsrtc doctor --json: %v\n%s", err, out)
	}
	srv := pageServer(t, nil, map[string]http.HandlerFunc{"GET /report.svg": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		http.ServeFile(w, r, svg)
	}})
	res := browse(t, ev.home, srv.URL+"/static/report.html", "doctor-report.png", 30*time.Second)
	var drawn struct {
		Bars []struct {
			Name, Cls        string
			Start, End       float64
			X, Width, Height float64
			Fill             string
		}
		Width, Height float64
		Title         string
	}
	if err := json.Unmarshal(res.Result, &drawn); err != nil {
		t.Fatal(err)
	}
	if len(drawn.Bars) != len(rep.Checks) || drawn.Width < 500 || !strings.Contains(drawn.Title, ev.arn.String()) {
		t.Fatalf("drawn %d bars in %vx%v (%q) for %d checks", len(drawn.Bars), drawn.Width, drawn.Height, drawn.Title, len(rep.Checks))
	}
	for i, b := range drawn.Bars {
		c := rep.Checks[i]
		if !strings.HasSuffix(b.Name, c.Name) || b.Start != c.StartMs || b.End != c.EndMs || b.Cls != "bar "+c.Status {
			t.Errorf("bar %d %+v, check %+v", i, b, c)
		}
		if b.Width < 1 || b.Height < 5 || b.Fill == "" || b.Fill == "none" {
			t.Errorf("bar %s not drawn: %+v", b.Name, b)
		}
		for _, a := range drawn.Bars[:i] {
			if b.Start > a.Start+0.05*drawn.Bars[len(drawn.Bars)-1].End && b.X <= a.X {
				t.Errorf("bar %s starts at %v ms, after %s at %v ms, but is drawn at x %v ≤ %v", b.Name, b.Start, a.Name, a.Start, b.X, a.X)
			}
		}
	}
	if _, err := os.Stat(artifact(t, "doctor-report.png")); err != nil {
		t.Errorf("no screenshot: %v", err)
	}
}

// TestWebWaterfall: the `kvsrtc web` page draws its timeline as a
// waterfall next to the video, one bar per phase from the page's own
// events.
func TestWebWaterfall(t *testing.T) {
	ev := newEnv(t, "cam")
	startMaster(t, ev)
	base := startWeb(t, ev)
	res := browse(t, ev.home, base+"?frames=30&seconds=1", "web-waterfall.png", 40*time.Second)
	var v struct {
		Timeline []struct {
			At   float64
			What string
		}
		Waterfall []struct {
			Name           string
			StartMs, EndMs float64
		}
		WaterfallDrawn int
	}
	if err := json.Unmarshal(res.Result, &v); err != nil {
		t.Fatal(err)
	}
	at := map[string]float64{}
	for _, e := range v.Timeline {
		if _, ok := at[e.What]; !ok {
			at[e.What] = e.At
		}
	}
	want := map[string][2]string{"connect": {"session", "signaling open"}, "answer": {"offer sent", "answer"},
		"firstVideoFrame": {"start", "first video frame"}, "dtlsConnected": {"ice connected", "peer connected"}}
	got := map[string]bool{}
	for _, b := range v.Waterfall {
		if w, ok := want[b.Name]; ok {
			got[b.Name] = true
			if b.StartMs != at[w[0]] || b.EndMs != at[w[1]] {
				t.Errorf("bar %s %v–%v, events %s at %v, %s at %v", b.Name, b.StartMs, b.EndMs, w[0], at[w[0]], w[1], at[w[1]])
			}
		}
	}
	if len(got) != len(want) || v.WaterfallDrawn != len(v.Waterfall) {
		t.Errorf("waterfall %+v (%d drawn), want bars %v", v.Waterfall, v.WaterfallDrawn, want)
	}
}
