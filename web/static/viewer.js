// viewer.js: the kvsrtc web viewer. The server (GET /api/session) gives a
// presigned signaling URL, a client id and ICE servers; no AWS credentials
// reach this page. The KVS WebRTC JS SDK's SignalingClient uses the URL
// through its requestSigner option.
//
// Tests add ?frames=N&seconds=S: once N frames are decoded and S seconds
// played, window.kvsrtcResult holds what the page measured.
"use strict";

const params = new URLSearchParams(location.search);
const want = { frames: Number(params.get("frames") || 0), seconds: Number(params.get("seconds") || 0) };
const video = document.getElementById("video");
let t0 = performance.now();
let run = 0; // increments on reconnect; stale callbacks check it
let timeline = [];
let firstFrame = null;

function ms() {
  return Math.round((performance.now() - t0) * 10) / 10;
}

function mark(what, detail) {
  const ev = { at: ms(), what };
  if (detail !== undefined) ev.detail = detail;
  timeline.push(ev);
  window.kvsrtcProgress = { timeline };
  const tr = document.createElement("tr");
  for (const text of [ev.at.toFixed(1), what, detail === undefined ? "" : typeof detail === "string" ? detail : JSON.stringify(detail)]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  if (/error|failed/.test(what)) tr.className = "error";
  document.querySelector("#timeline tbody").appendChild(tr);
  drawWaterfall(timeline);
  return ev;
}

function setState(s) {
  document.getElementById("state").textContent = s;
}

function fail(err) {
  const msg = err && err.message ? err.message : String(err);
  mark("error", msg);
  setState("failed");
  window.kvsrtcError = msg;
}

function showStats(rows) {
  const tbody = document.querySelector("#stats tbody");
  tbody.replaceChildren();
  for (const [k, v] of rows) {
    const tr = document.createElement("tr");
    const a = document.createElement("td");
    const b = document.createElement("td");
    a.textContent = k;
    b.textContent = v;
    tr.append(a, b);
    tbody.appendChild(tr);
  }
}

// collect reads getStats into the figures the page shows and tests check.
async function collect(pc) {
  const stats = await pc.getStats();
  const out = { video: null, audio: null, pair: null };
  let pairId = null;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp") out[s.kind] = s;
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId && stats.get(pairId);
  if (pair) {
    const l = stats.get(pair.localCandidateId);
    const r = stats.get(pair.remoteCandidateId);
    out.pair = {
      local: `${l.candidateType} ${l.address}:${l.port}`,
      remote: `${r.candidateType} ${r.address}:${r.port}`,
      rttMs: pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
    };
  }
  out.codec = out.video && out.video.codecId ? stats.get(out.video.codecId)?.mimeType : undefined;
  return out;
}

function measured(s) {
  const q = video.getVideoPlaybackQuality();
  return {
    currentTime: video.currentTime,
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    totalVideoFrames: q.totalVideoFrames,
    droppedVideoFrames: q.droppedVideoFrames,
    framesDecoded: s.video ? s.video.framesDecoded : 0,
    keyFramesDecoded: s.video ? s.video.keyFramesDecoded : 0,
    codec: s.codec,
    bytesReceived: s.video ? s.video.bytesReceived : 0,
  };
}

async function start() {
  const my = ++run;
  t0 = performance.now();
  timeline = [];
  firstFrame = null;
  document.querySelector("#timeline tbody").replaceChildren();
  setState("connecting");
  const begin = mark("start");

  const r = await fetch("/api/session", { cache: "no-store" });
  const sess = await r.json();
  if (!r.ok) throw new Error(`/api/session: HTTP ${r.status}: ${sess.error}`);
  mark("session", { clientId: sess.clientId, iceServers: sess.iceServers.length, serverMs: sess.resolveMs, urlExpires: sess.expires });
  document.getElementById("channel").textContent = `${sess.channelArn} as ${sess.clientId}`;

  const pc = new RTCPeerConnection({ iceServers: sess.iceServers });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (e) => {
    mark("track " + e.track.kind);
    if (e.track.kind === "video") video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
  };
  pc.oniceconnectionstatechange = () => mark("ice " + pc.iceConnectionState);
  pc.onconnectionstatechange = () => {
    mark("peer " + pc.connectionState);
    setState(pc.connectionState);
  };
  video.requestVideoFrameCallback((now, meta) => {
    if (my === run) firstFrame = mark("first video frame", { width: meta.width, height: meta.height });
  });

  const client = new KVSWebRTC.SignalingClient({
    channelARN: sess.channelArn,
    channelEndpoint: sess.endpoint,
    clientId: sess.clientId,
    role: KVSWebRTC.Role.VIEWER,
    region: sess.region,
    // The server signed the URL: hand it over, once. A reconnect asks the
    // server for a new session.
    requestSigner: { getSignedURL: async () => sess.signedUrl },
  });
  client.on("open", async () => {
    mark("signaling open");
    await pc.setLocalDescription(await pc.createOffer());
    client.sendSdpOffer(pc.localDescription);
    mark("offer sent");
  });
  client.on("sdpAnswer", async (answer) => {
    mark("answer");
    await pc.setRemoteDescription(answer);
  });
  client.on("iceCandidate", (c) => pc.addIceCandidate(c).catch((e) => mark("addIceCandidate failed", String(e))));
  client.on("close", () => mark("signaling closed"));
  client.on("error", (e) => mark("signaling error", String(e && e.message ? e.message : e)));
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) client.sendIceCandidate(candidate);
  };
  client.open();

  let prev = null;
  const tick = async () => {
    if (my !== run) {
      client.close();
      pc.close();
      return;
    }
    const s = await collect(pc);
    const m = measured(s);
    const now = performance.now();
    const kbps = prev && s.video ? ((s.video.bytesReceived - prev.bytes) * 8) / (now - prev.at) : 0;
    prev = { bytes: s.video ? s.video.bytesReceived : 0, at: now };
    showStats([
      ["video", `${m.codec ?? "-"} ${m.videoWidth}x${m.videoHeight}`],
      ["frames decoded", `${m.framesDecoded} (${m.keyFramesDecoded} key, ${m.droppedVideoFrames} dropped)`],
      ["frames per second", s.video && s.video.framesPerSecond !== undefined ? String(s.video.framesPerSecond) : "-"],
      ["bitrate", `${kbps.toFixed(0)} kbit/s`],
      ["packets lost", s.video ? String(s.video.packetsLost) : "-"],
      ["jitter", s.video ? `${(s.video.jitter * 1000).toFixed(1)} ms` : "-"],
      ["round-trip time", s.pair && s.pair.rttMs !== null ? `${s.pair.rttMs.toFixed(1)} ms` : "-"],
      ["candidate pair", s.pair ? `${s.pair.local} ↔ ${s.pair.remote}` : "-"],
      ["audio", s.audio ? `${s.audio.packetsReceived} packets, ${s.audio.totalSamplesReceived ?? 0} samples` : "-"],
      ["played", `${m.currentTime.toFixed(2)} s`],
    ]);
    if (want.frames > 0 && !window.kvsrtcResult && firstFrame &&
        m.framesDecoded >= want.frames && m.totalVideoFrames >= want.frames && m.currentTime >= want.seconds) {
      window.kvsrtcResult = {
        video: m,
        firstFrameMs: firstFrame.at - begin.at,
        selectedPair: s.pair ? { local: s.pair.local, remote: s.pair.remote } : null,
        session: { clientId: sess.clientId, expires: sess.expires, endpoint: sess.endpoint },
        timeline,
        waterfall: waterfallBars(timeline),
        waterfallDrawn: document.querySelectorAll("#waterfall rect.bar").length,
      };
    }
    setTimeout(tick, want.frames > 0 && !window.kvsrtcResult ? 100 : 1000);
  };
  tick();
}

document.getElementById("reconnect").addEventListener("click", () => start().catch(fail));
start().catch(fail);
