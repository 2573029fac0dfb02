package cli

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/doctor"
	"github.com/kvsrtc/kvsrtc/emulator"
)

// checkSVG parses the waterfall: well-formed XML with one bar per check,
// in the checks' order, named and coloured by them, a later start never
// drawn further left. (TestDoctorSVGMatchesJSON compares the times.)
func checkSVG(t *testing.T, path string, checks []doctor.Check) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type rect struct {
		Class string  `xml:"class,attr"`
		Name  string  `xml:"data-name,attr"`
		Start float64 `xml:"data-start-ms,attr"`
		End   float64 `xml:"data-end-ms,attr"`
		X     float64 `xml:"x,attr"`
		W     float64 `xml:"width,attr"`
	}
	var doc struct {
		XMLName xml.Name
		Rows    []struct {
			Rect rect `xml:"rect"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	var bars []rect
	for _, g := range doc.Rows {
		if strings.HasPrefix(g.Rect.Class, "bar") {
			bars = append(bars, g.Rect)
		}
	}
	if doc.XMLName.Local != "svg" || len(bars) != len(checks) {
		t.Fatalf("root %s, %d bars for %d checks", doc.XMLName.Local, len(bars), len(checks))
	}
	for i, b := range bars {
		if !strings.HasSuffix(b.Name, checks[i].Name) || !strings.Contains(b.Class, checks[i].Status.String()) {
			t.Errorf("bar %d = %+v, check %+v", i, b, checks[i])
		}
		if i > 0 && b.Start < bars[i-1].Start && b.X > bars[i-1].X {
			t.Errorf("bar %d starts earlier but is drawn later: %+v after %+v", i, b, bars[i-1])
		}
	}
}

// TestDoctorSVGMatchesJSON writes the SVG from the same run as the JSON
// and compares every bar's times.
func TestDoctorSVGMatchesJSON(t *testing.T) {
	_, arn := startEmulator(t, emulator.Options{BlockTURN: []string{"udp"}}, "doc")
	svg := filepath.Join(t.TempDir(), "doctor.svg")
	rep, stderr, code := runDoctorJSON(t, "--channel-arn", arn, "--no-media", "--report", svg)
	if code != ExitDoctorTURN {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	checkSVG(t, svg, rep.Checks)
	data, _ := os.ReadFile(svg)
	for _, c := range rep.Checks {
		re := regexp.MustCompile(`data-name="[^"]*` + regexp.QuoteMeta(c.Name) + `" data-start-ms="([0-9.e+-]+)" data-end-ms="([0-9.e+-]+)"`)
		m := re.FindStringSubmatch(string(data))
		if m == nil {
			t.Errorf("no bar for %s", c.Name)
			continue
		}
		start, err1 := strconv.ParseFloat(m[1], 64)
		end, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil || start != c.StartMs || end != c.EndMs {
			t.Errorf("bar %s at %s–%s ms, JSON %v–%v", c.Name, m[1], m[2], c.StartMs, c.EndMs)
		}
	}
}

// TestDemoReport: kvsrtc demo --report writes one bar per timeline step of
// the master and the viewer, at the JSON's times shifted onto one axis.
func TestDemoReport(t *testing.T) {
	cliEnv(t)
	svg := filepath.Join(t.TempDir(), "demo.svg")
	stdout, stderr, code := run(t, "demo", "--seconds", "1", "--json", "--report", svg)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	out := decode[demoJSON](t, stdout)
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []struct {
			Rect struct {
				Class string  `xml:"class,attr"`
				Name  string  `xml:"data-name,attr"`
				Start float64 `xml:"data-start-ms,attr"`
				End   float64 `xml:"data-end-ms,attr"`
			} `xml:"rect"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	bars := map[string][2]float64{}
	for _, g := range doc.Rows {
		if strings.HasPrefix(g.Rect.Class, "bar") {
			bars[g.Rect.Name] = [2]float64{g.Rect.Start, g.Rect.End}
		}
	}
	zero := out.Master.Timeline.Start()
	want := 0
	for _, n := range append([]namedTimeline{{"master", out.Master.Timeline}}, namedTimeline{out.Viewers[0].ClientID, out.Viewers[0].Timeline}) {
		shift := float64(n.tl.Start().Sub(zero).Microseconds()) / 1000
		for _, s := range n.tl.Steps() {
			want++
			b, ok := bars[n.who+" "+s.Name]
			if !ok || b[0]-(s.StartMs+shift) > 0.01 || b[0]-(s.StartMs+shift) < -0.01 || b[1]-b[0]-s.Ms > 0.01 || b[1]-b[0]-s.Ms < -0.01 {
				t.Errorf("bar %s %s = %v, step %+v shifted %v", n.who, s.Name, b, s, shift)
			}
		}
	}
	if len(bars) != want || want < 10 {
		t.Errorf("%d bars, %d steps", len(bars), want)
	}
}

// TestViewerReport: kvsrtc viewer --report draws one bar per step of the
// viewer's timeline.
func TestViewerReport(t *testing.T) {
	e, arn := startEmulator(t, emulator.Options{}, "doc")
	startDoctorMaster(t, e, arn)
	svg := filepath.Join(t.TempDir(), "viewer.svg")
	stdout, stderr, code := run(t, "viewer", "--channel-arn", arn, "--seconds", "1", "--json", "--report", svg)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	v := decode[viewerJSON](t, stdout)
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	steps := v.Timeline.Steps()
	if n := strings.Count(string(data), `<rect class="bar`); n != len(steps) || n < 8 {
		t.Errorf("%d bars for %d steps", n, len(steps))
	}
	for _, s := range steps {
		if !strings.Contains(string(data), fmt.Sprintf(`data-name="%s" data-start-ms="%g" data-end-ms="%g"`, s.Name, s.StartMs, s.EndMs)) {
			t.Errorf("no bar for %+v", s)
		}
	}
}
