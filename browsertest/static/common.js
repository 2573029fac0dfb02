// common.js: what every test page shares. A page reports to the Go test by
// setting window.kvsrtcResult (done) or window.kvsrtcError (failed);
// window.kvsrtcProgress shows how far it got if it times out.

const t0 = performance.now();
window.kvsrtcProgress = { timeline: [] };

// ms is the time since the page's script started, in milliseconds.
function ms() {
  return Math.round((performance.now() - t0) * 10) / 10;
}

// mark records a timeline event and shows it on the page.
function mark(what, detail) {
  const ev = { at: ms(), what };
  if (detail !== undefined) ev.detail = detail;
  window.kvsrtcProgress.timeline.push(ev);
  const ol = document.getElementById("timeline");
  if (ol) {
    const li = document.createElement("li");
    li.textContent = `${ev.at.toFixed(1)} ms  ${what}${detail !== undefined ? "  " + JSON.stringify(detail) : ""}`;
    ol.appendChild(li);
  }
  return ev;
}

function show(id, obj) {
  const el = document.getElementById(id);
  if (el) el.textContent = typeof obj === "string" ? obj : JSON.stringify(obj, null, 2);
}

function done(result) {
  result.timeline = window.kvsrtcProgress.timeline;
  show("status", "done");
  window.kvsrtcResult = result;
}

function fail(err) {
  const msg = err && err.name ? `${err.name}: ${err.message}` : String(err);
  show("status", "failed: " + msg);
  window.kvsrtcError = msg;
}

async function config() {
  const r = await fetch("/config.json");
  if (!r.ok) throw new Error(`config.json: ${r.status}`);
  return r.json();
}

// sdkError keeps what a test checks of an AWS SDK error.
function sdkError(e) {
  return { name: e.name, message: e.message, httpStatusCode: e.$metadata?.httpStatusCode, fault: e.$fault };
}

// videoProgress waits until the video element has decoded at least
// minFrames frames and played minSeconds, and returns what it measured.
// firstFrameAt is set by watchFirstFrame.
async function videoProgress(pc, video, minFrames, minSeconds, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let last = {};
  while (performance.now() < deadline) {
    const q = video.getVideoPlaybackQuality();
    let inbound = null;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") inbound = s;
    });
    last = {
      currentTime: video.currentTime,
      videoWidth: video.videoWidth,
      videoHeight: video.videoHeight,
      totalVideoFrames: q.totalVideoFrames,
      droppedVideoFrames: q.droppedVideoFrames,
      framesDecoded: inbound ? inbound.framesDecoded : 0,
      keyFramesDecoded: inbound ? inbound.keyFramesDecoded : 0,
      codec: inbound && inbound.codecId ? stats.get(inbound.codecId)?.mimeType : undefined,
      bytesReceived: inbound ? inbound.bytesReceived : 0,
    };
    window.kvsrtcProgress.video = last;
    if (last.framesDecoded >= minFrames && last.totalVideoFrames >= minFrames && last.currentTime >= minSeconds) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`video did not reach ${minFrames} decoded frames and ${minSeconds} s in ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

// watchFirstFrame marks the first video frame presented by the element.
function watchFirstFrame(video, onFirst) {
  video.requestVideoFrameCallback((now, meta) => {
    onFirst(mark("firstVideoFrame", { width: meta.width, height: meta.height }));
  });
}
