// Package waterfall draws a connection timeline as an SVG waterfall: one
// row per step, each a bar on a shared time axis from the step's start to
// its end, so steps that ran side by side (GetIceServerConfig while the
// WebSocket opens, TURN allocations over each transport) show as bars
// over the same stretch of the axis.
//
// Use [Chart.WriteSVG] with bars made from a session.Timeline's steps or a
// doctor.Report's checks. Labels keep the official C SDK's metric names
// (getEndpointCallTime, …) next to kvsrtc's step names so numbers compare
// like with like.
//
// Each bar is a <rect class="bar …"> carrying data-name, data-start-ms and
// data-end-ms attributes with the exact times, for tests and scripts.
package waterfall
