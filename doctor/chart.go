package doctor

import "github.com/kvsrtc/kvsrtc/waterfall"

// Chart is the report as a waterfall: one bar per check, labelled with the
// check's name and the C SDK metric, coloured by status.
func (r *Report) Chart() waterfall.Chart {
	c := waterfall.Chart{Title: "kvsrtc doctor: " + r.Channel + " as " + r.Role}
	for _, ch := range r.Checks {
		note := ch.Detail
		if ch.Error != "" {
			note = ch.Error
		}
		c.Bars = append(c.Bars, waterfall.Bar{Label: ch.Status.Symbol() + " " + ch.Name, Metric: ch.Metric,
			StartMs: ch.StartMs, EndMs: ch.EndMs, Status: ch.Status.String(), Note: note})
	}
	return c
}
