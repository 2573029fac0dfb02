// signaling-peer.mjs runs the official KVS WebRTC SignalingClient
// (amazon-kinesis-video-streams-webrtc, lib build, unmodified) as MASTER or
// VIEWER and lets a Go test drive it with line-delimited JSON.
//
//   node signaling-peer.mjs --role MASTER|VIEWER --channel-arn ARN \
//        --endpoint wss://host:port/path [--client-id ID] [--region R]
//
// Credentials come from the environment, never from argv (argv is visible to
// every process on the machine):
//
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   required
//   AWS_SESSION_TOKEN                          optional
//   AWS_REGION                                 region unless --region is given
//   NODE_EXTRA_CA_CERTS                        read by node itself: extra trusted CAs
//
// stdin, one JSON object a line (commands):
//
//   {"id":1,"op":"sendSdpOffer","payload":{"type":"offer","sdp":"..."},
//    "recipientClientId":"viewer-1","correlationId":"c-1"}
//   op is sendSdpOffer, sendSdpAnswer or sendIceCandidate; recipientClientId
//   and correlationId are optional (a VIEWER must leave the recipient out).
//   {"id":2,"op":"close"}  closes the WebSocket (a "close" event follows).
//
// stdout, one JSON object a line (events):
//
//   {"event":"ready"}                      the client exists; open() is next
//   {"event":"dial","url":"wss://..."}     the presigned URL the SDK opens,
//                                          signature, token and credential redacted
//   {"event":"open"}
//   {"event":"sdpOffer","payload":{...},"senderClientId":"..."}
//   {"event":"sdpAnswer","payload":{...},"senderClientId":"..."}
//   {"event":"iceCandidate","payload":{...},"senderClientId":"..."}
//   {"event":"statusResponse","statusResponse":{...}}
//   {"event":"sent","id":1}                a command was handed to the SDK
//   {"event":"commandError","id":1,"message":"..."}   the SDK threw
//   {"event":"error","message":"..."}
//   {"event":"close"}
//
// senderClientId is null when the SDK reported none (frames from the master).
// The process exits 0 when stdin ends, after closing the client.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const WS = require("ws");
const { SignalingClient, Role } = require("amazon-kinesis-video-streams-webrtc");

function usage(msg) {
  process.stderr.write(
    `signaling-peer.mjs: ${msg}\n` +
      "usage: node signaling-peer.mjs --role MASTER|VIEWER --channel-arn ARN --endpoint wss://... [--client-id ID] [--region R]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const names = { "--role": "role", "--channel-arn": "channelARN", "--endpoint": "endpoint", "--client-id": "clientId", "--region": "region" };
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const name = names[argv[i]];
    if (!name) usage(`unknown argument ${JSON.stringify(argv[i])}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    out[name] = argv[++i];
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
if (args.role !== "MASTER" && args.role !== "VIEWER") usage("--role must be MASTER or VIEWER");
if (!args.channelARN) usage("--channel-arn is required");
if (!args.endpoint) usage("--endpoint is required");
const region = args.region || process.env.AWS_REGION;
if (!region) usage("--region or AWS_REGION is required");
const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
if (!accessKeyId || !secretAccessKey) usage("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required");

function emit(ev) {
  process.stdout.write(JSON.stringify(ev) + "\n");
}

function redactURL(u) {
  return u.replace(/((?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&]*/gi, "$1[REDACTED]");
}

// deps.md §2: the lib build does `new (WebSocket || require('ws'))(url)`, and
// Node 20 has no global WebSocket. The subclass only reports the URL the SDK
// signed; the SDK itself is used as published.
class ReportingWebSocket extends WS {
  constructor(url, ...rest) {
    emit({ event: "dial", url: redactURL(String(url)) });
    super(url, ...rest);
  }
}
globalThis.WebSocket = ReportingWebSocket;

const config = {
  role: args.role === "MASTER" ? Role.MASTER : Role.VIEWER,
  channelARN: args.channelARN,
  channelEndpoint: args.endpoint,
  region,
  credentials: {
    accessKeyId,
    secretAccessKey,
    sessionToken: process.env.AWS_SESSION_TOKEN || undefined,
  },
};
if (args.role === "VIEWER") config.clientId = args.clientId;

const client = new SignalingClient(config);
const who = (id) => (id === undefined || id === "" ? null : id);
client.on("open", () => emit({ event: "open" }));
client.on("sdpOffer", (payload, sender) => emit({ event: "sdpOffer", payload, senderClientId: who(sender) }));
client.on("sdpAnswer", (payload, sender) => emit({ event: "sdpAnswer", payload, senderClientId: who(sender) }));
client.on("iceCandidate", (payload, sender) => emit({ event: "iceCandidate", payload, senderClientId: who(sender) }));
client.on("statusResponse", (statusResponse) => emit({ event: "statusResponse", statusResponse }));
client.on("error", (err) => emit({ event: "error", message: redactURL(String((err && err.message) || err)) }));
client.on("close", () => emit({ event: "close" }));

const sends = {
  sendSdpOffer: (c, p, r, id) => c.sendSdpOffer(p, r, id),
  sendSdpAnswer: (c, p, r, id) => c.sendSdpAnswer(p, r, id),
  sendIceCandidate: (c, p, r, id) => c.sendIceCandidate(p, r, id),
};

function run(cmd) {
  if (cmd.op === "close") {
    client.close();
    return;
  }
  const send = sends[cmd.op];
  if (!send) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  send(client, cmd.payload, cmd.recipientClientId || undefined, cmd.correlationId || undefined);
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (line.trim() === "") return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    emit({ event: "commandError", id: null, message: `bad JSON: ${e.message}` });
    return;
  }
  try {
    run(cmd);
    emit({ event: "sent", id: cmd.id ?? null });
  } catch (e) {
    emit({ event: "commandError", id: cmd.id ?? null, message: String(e && e.message) });
  }
});
rl.on("close", () => {
  client.close();
  // ws ends the TLS socket after the close handshake; do not wait for a
  // server that no longer answers.
  setTimeout(() => process.exit(0), 2000).unref();
});

emit({ event: "ready" });
client.open();
