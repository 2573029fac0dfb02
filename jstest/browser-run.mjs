// browser-run.mjs opens one page in Debian's Chromium with playwright-core,
// waits until the page reports a result, saves a screenshot and prints one
// JSON line on stdout. The Go package browsertest runs it.
//
//   node browser-run.mjs '<json scenario>'
//
// Scenario fields:
//
//   url          page to open (served on loopback by the Go test)       required
//   profileDir   a new, empty directory: the Chromium profile           required
//   home         HOME for Chromium; its .pki/nssdb holds the trusted CAs required
//   screenshot   PNG path written when the page is done (or failed)     optional
//   timeoutMs    how long the page may take to report, default 30000
//   executable   Chromium binary, default /usr/bin/chromium
//   capture      file to write everything the page received: each HTTP
//                response (URL, headers, body) and each WebSocket frame
//
// The page reports by setting window.kvsrtcResult to a JSON-able object;
// window.kvsrtcError (a string) makes the run fail at once.
//
// Output, exactly one line, exit status 0:
//
//   {"ok":true,"result":{...},"console":[...],"launchMs":312,"totalMs":1800}
//   {"ok":false,"error":"...","console":[...],...}
//
// A non-zero exit status (with a message on stderr) means the harness itself
// was misused.

import { chromium } from "playwright-core";

// Flags for a closed network: nothing may call home, and Chromium's WebRTC
// may use loopback. --ignore-certificate-errors is deliberately absent: the
// emulator's CA is trusted through the NSS db under $HOME/.pki/nssdb.
const flags = [
  "--no-sandbox", // root in a container
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--disable-breakpad",
  "--metrics-recording-only",
  "--password-store=basic",
  "--use-mock-keychain",
  "--autoplay-policy=no-user-gesture-required",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate",
];

function usage(msg) {
  process.stderr.write(`browser-run.mjs: ${msg}\nusage: node browser-run.mjs '<json scenario>'\n`);
  process.exit(2);
}

if (process.argv.length !== 3) usage("want exactly one argument");
let sc;
try {
  sc = JSON.parse(process.argv[2]);
} catch (e) {
  usage(`scenario is not JSON: ${e.message}`);
}
for (const k of ["url", "profileDir", "home"]) {
  if (typeof sc[k] !== "string" || sc[k] === "") usage(`scenario.${k} is required`);
}
const timeoutMs = sc.timeoutMs ?? 30000;

const out = { ok: false, console: [] };
const t0 = performance.now();
let context;
try {
  context = await chromium.launchPersistentContext(sc.profileDir, {
    executablePath: sc.executable ?? "/usr/bin/chromium",
    headless: true,
    args: flags,
    env: { ...process.env, HOME: sc.home },
    viewport: { width: 960, height: 720 },
    timeout: 30000,
  });
  out.launchMs = Math.round(performance.now() - t0);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => out.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => out.console.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => out.console.push(`requestfailed: ${r.url().split("?")[0]} ${r.failure()?.errorText ?? ""}`));
  const captured = [];
  if (sc.capture) {
    page.on("response", async (r) => {
      let body = "";
      try {
        body = await r.text();
      } catch {}
      captured.push(`HTTP ${r.status()} ${r.url()}\n${JSON.stringify(await r.allHeaders().catch(() => ({})))}\n${body}`);
    });
    page.on("websocket", (ws) => {
      captured.push(`WEBSOCKET ${ws.url()}`);
      ws.on("framereceived", (f) => captured.push(`WS< ${f.payload}`));
      ws.on("framesent", (f) => captured.push(`WS> ${f.payload}`));
    });
  }
  await page.goto(sc.url, { waitUntil: "load", timeout: timeoutMs });
  try {
    const handle = await page.waitForFunction(
      () => (window.kvsrtcError ? { error: String(window.kvsrtcError) } : window.kvsrtcResult ? { result: window.kvsrtcResult } : null),
      null,
      { timeout: timeoutMs, polling: 50 },
    );
    const v = await handle.jsonValue();
    if (v.error) out.error = `page: ${v.error}`;
    else {
      out.ok = true;
      out.result = v.result;
    }
  } catch (e) {
    out.error = `page did not report within ${timeoutMs} ms: ${e.message.split("\n")[0]}`;
    out.partial = await page.evaluate(() => window.kvsrtcProgress ?? null).catch(() => null);
  }
  if (sc.screenshot) await page.screenshot({ path: sc.screenshot, fullPage: true });
  if (sc.capture) {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(sc.capture, captured.join("\n\n"));
    out.captured = captured.length;
  }
} catch (e) {
  out.ok = false;
  out.error = `browser: ${e.message.split("\n")[0]}`;
} finally {
  if (context) await context.close().catch(() => {});
}
out.totalMs = Math.round(performance.now() - t0);
process.stdout.write(JSON.stringify(out) + "\n");
