package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvsrtc/kvsrtc/session"
	"github.com/kvsrtc/kvsrtc/waterfall"
)

// addReportFlag registers --report FILE.svg.
func addReportFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "report", "", "write the connection timeline as an SVG waterfall to this file (.svg)")
}

// checkReportPath refuses a --report that is not an .svg file name.
func checkReportPath(p string) error {
	if p != "" && !strings.HasSuffix(strings.ToLower(p), ".svg") {
		return usageErrorf("--report %q: want a file name ending in .svg", p)
	}
	return nil
}

// namedTimeline is a timeline and whose it is ("master", a viewer's id).
type namedTimeline struct {
	who string
	tl  *session.Timeline
}

// timelineChart puts the steps of every timeline on one axis whose zero
// is the earliest start; a row is "who step", with the C SDK metric.
func timelineChart(title string, tls ...namedTimeline) waterfall.Chart {
	c := waterfall.Chart{Title: title}
	var zero time.Time
	for _, n := range tls {
		if n.tl != nil && (zero.IsZero() || n.tl.Start().Before(zero)) {
			zero = n.tl.Start()
		}
	}
	for _, n := range tls {
		if n.tl == nil {
			continue
		}
		shift := float64(n.tl.Start().Sub(zero).Microseconds()) / 1000
		for _, s := range n.tl.Steps() {
			label := s.Name
			if n.who != "" {
				label = n.who + " " + s.Name
			}
			c.Bars = append(c.Bars, waterfall.Bar{Label: label, Metric: s.Metric, StartMs: s.StartMs + shift, EndMs: s.EndMs + shift})
		}
	}
	return c
}

// writeReport writes an SVG report file with write.
func writeReport(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
