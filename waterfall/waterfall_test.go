package waterfall_test

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/kvsrtc/kvsrtc/waterfall"
)

// TestWriteSVG: well-formed, one bar per step in order, labels escaped,
// bars placed proportionally to their times on one axis.
func TestWriteSVG(t *testing.T) {
	c := waterfall.Chart{Title: "a <b> & c", Bars: []waterfall.Bar{
		{Label: "getEndpoint", Metric: "getEndpointCallTime", StartMs: 0, EndMs: 100, Status: "pass"},
		{Label: "getIceConfig", StartMs: 100, EndMs: 300, Status: "fail", Note: `"quoted" <x>`},
		{Label: "connect", StartMs: 100, EndMs: 500},
	}}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	var rects []map[string]string
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			m := map[string]string{}
			for _, a := range se.Attr {
				m[a.Name.Local] = a.Value
			}
			if strings.HasPrefix(m["class"], "bar") {
				rects = append(rects, m)
			}
		}
	}
	if len(rects) != 3 {
		t.Fatalf("%d bars", len(rects))
	}
	f := func(m map[string]string, k string) float64 {
		v, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			t.Fatalf("%s=%q", k, m[k])
		}
		return v
	}
	// Bars 2 and 3 start together; bar 3 is 2× as long as bar 2.
	if f(rects[1], "x") != f(rects[2], "x") || f(rects[0], "x") >= f(rects[1], "x") {
		t.Errorf("x: %v %v %v", rects[0]["x"], rects[1]["x"], rects[2]["x"])
	}
	if w1, w2 := f(rects[1], "width"), f(rects[2], "width"); w2 < 1.9*w1 || w2 > 2.1*w1 {
		t.Errorf("widths %v %v", w1, w2)
	}
	if rects[1]["class"] != "bar fail" || f(rects[1], "data-end-ms") != 300 || rects[0]["data-name"] != "getEndpoint" {
		t.Errorf("bar 2 %v", rects[1])
	}
}
