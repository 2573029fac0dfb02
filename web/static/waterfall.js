// waterfall.js: draws the page's connection timeline as a waterfall, the
// same picture `kvsrtc doctor --report` and `kvsrtc viewer --report` write
// (package waterfall): one bar per phase on a shared time axis, labelled
// with the KVS C SDK's metric names where it has one.
"use strict";

// A phase runs from the first event named `from` to the first named `to`.
const WATERFALL_PHASES = [
  { name: "session", metric: "(server side)", from: "start", to: "session" },
  { name: "connect", metric: "connectCallTime", from: "session", to: "signaling open" },
  { name: "offerSent", metric: "", from: "signaling open", to: "offer sent" },
  { name: "answer", metric: "offerToAnswerTime", from: "offer sent", to: "answer" },
  { name: "iceConnected", metric: "iceHolePunchingTime", from: "ice checking", to: "ice connected" },
  { name: "dtlsConnected", metric: "dtlsSessionSetupTime", from: "ice connected", to: "peer connected" },
  { name: "firstVideoFrame", metric: "timeToFirstFrame", from: "start", to: "first video frame" },
];

// waterfallBars turns timeline events ({at, what}) into bars of the
// phases that have ended.
function waterfallBars(timeline) {
  const first = {};
  for (const ev of timeline) if (!(ev.what in first)) first[ev.what] = ev.at;
  const bars = [];
  for (const p of WATERFALL_PHASES) {
    if (p.from in first && p.to in first) {
      bars.push({ name: p.name, metric: p.metric, startMs: first[p.from], endMs: first[p.to] });
    }
  }
  return bars;
}

// drawWaterfall replaces the content of the <svg id="waterfall">.
function drawWaterfall(timeline) {
  const svg = document.getElementById("waterfall");
  if (!svg) return;
  const bars = waterfallBars(timeline);
  window.kvsrtcWaterfall = bars;
  const NS = "http://www.w3.org/2000/svg";
  const width = 640, labelW = 250, rightPad = 60, rowH = 22, barH = 13, top = 24;
  const end = Math.max(1, ...bars.map((b) => b.endMs));
  const raw = end / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => raw <= s);
  const axisEnd = Math.max(step, Math.ceil(end / step) * step);
  const x = (ms) => labelW + (ms / axisEnd) * (width - labelW - rightPad);
  const height = top + rowH * Math.max(bars.length, 1) + 8;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.replaceChildren();
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 || ms === 0 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
  for (let t = 0; t <= axisEnd + step / 2; t += step) {
    svg.append(el("line", { x1: x(t), y1: top - 6, x2: x(t), y2: height - 8, stroke: "#e0e0e0" }));
    svg.append(el("text", { x: x(t), y: top - 10, "text-anchor": "middle", fill: "#555", "font-size": 11 }, fmt(t)));
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const g = el("g", { class: "row" });
    const label = el("text", { x: 4, y: y + barH - 2, "font-size": 12 }, b.name + " ");
    if (b.metric) label.append(el("tspan", { fill: "#777" }, b.metric));
    g.append(label);
    const w = Math.max(x(b.endMs) - x(b.startMs), 1.5);
    const r = el("rect", { class: "bar", "data-name": b.name, "data-start-ms": b.startMs, "data-end-ms": b.endMs,
      x: x(b.startMs), y, width: w, height: barH, rx: 2, fill: "#1565c0" });
    r.append(el("title", {}, `${b.name}: ${fmt(b.startMs)} → ${fmt(b.endMs)}`));
    g.append(r);
    g.append(el("text", { x: x(b.startMs) + w + 4, y: y + barH - 2, "font-size": 11, fill: "#333" }, fmt(b.endMs - b.startMs)));
    svg.append(g);
  });
}
