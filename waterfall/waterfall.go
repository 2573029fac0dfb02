package waterfall

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Bar is one row of the waterfall.
type Bar struct {
	// Label names the step; Metric is the C SDK's name for it, if any.
	Label  string
	Metric string
	// StartMs and EndMs place the bar on the axis (milliseconds).
	StartMs, EndMs float64
	// Status colours the bar: "pass", "fail", "skip" or "" (neutral).
	Status string
	// Note is shown in the bar's tooltip (e.g. the error of a failure).
	Note string
}

// Chart is a titled list of bars, drawn in the order given.
type Chart struct {
	Title string
	Bars  []Bar
}

// Layout, in SVG user units.
const (
	width    = 1040
	labelW   = 400
	rightPad = 70
	rowH     = 24
	barH     = 14
	topH     = 56
	bottomH  = 16
)

// ticks returns a round step that gives 4 to 10 ticks over span.
func ticks(span float64) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// fill is the colour of a status.
func fill(status string) string {
	switch status {
	case "pass":
		return "#2e7d32"
	case "fail":
		return "#c62828"
	case "skip":
		return "#9e9e9e"
	}
	return "#1565c0"
}

// WriteSVG writes the chart as a standalone SVG document.
func (c Chart) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	end := 0.0
	for _, b := range c.Bars {
		end = math.Max(end, math.Max(b.EndMs, b.StartMs))
	}
	step := ticks(end)
	axisEnd := math.Max(step, math.Ceil(end/step)*step)
	plotW := float64(width - labelW - rightPad)
	x := func(ms float64) float64 { return labelW + ms/axisEnd*plotW }
	height := topH + rowH*len(c.Bars) + bottomH

	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<title>%s</title>`+"\n", esc(c.Title))
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="8" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", esc(c.Title))
	// Axis: a tick and a label every step, a faint line down the rows.
	fmt.Fprintf(bw, `<g class="axis" fill="#555555">`+"\n")
	for t := 0.0; t <= axisEnd+step/2; t += step {
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>`, x(t), topH-6, x(t), height-bottomH)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(t), topH-10, fmtMs(t))
	}
	fmt.Fprintf(bw, `</g>`+"\n")
	for i, b := range c.Bars {
		y := topH + i*rowH
		label := b.Label
		fmt.Fprintf(bw, `<g class="row">`)
		fmt.Fprintf(bw, `<text x="8" y="%d">%s`, y+barH-2, esc(label))
		if b.Metric != "" {
			fmt.Fprintf(bw, ` <tspan fill="#777777">%s</tspan>`, esc(b.Metric))
		}
		fmt.Fprintf(bw, `</text>`)
		x0, x1 := x(b.StartMs), x(b.EndMs)
		bw0 := math.Max(x1-x0, 1.5)
		tip := fmt.Sprintf("%s: %s → %s (%s)", b.Label, fmtMs(b.StartMs), fmtMs(b.EndMs), fmtMs(b.EndMs-b.StartMs))
		if b.Note != "" {
			tip += " — " + b.Note
		}
		fmt.Fprintf(bw, `<rect class="bar %s" data-name="%s" data-start-ms="%g" data-end-ms="%g" x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s</title></rect>`,
			esc(b.Status), esc(b.Label), b.StartMs, b.EndMs, x0, y, bw0, barH, fill(b.Status), esc(tip))
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" fill="#333333">%s</text>`, x0+bw0+4, y+barH-2, fmtMs(b.EndMs-b.StartMs))
		fmt.Fprintf(bw, "</g>\n")
	}
	fmt.Fprintf(bw, "</svg>\n")
	return bw.Flush()
}

// fmtMs prints a duration in ms, or s past 10 s.
func fmtMs(ms float64) string {
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms >= 100 || ms == 0:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f ms", ms)
}
