// call.mjs sends one request with an unmodified AWS JS v3 client and prints
// the outcome as one JSON line on stdout. The Go package internal/jsrun runs it.
//
//   node call.mjs <kinesisvideo|signaling|storage> <OperationName> '<json input>' [--endpoint URL]
//
// Configuration comes from the environment:
//
//   AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   required
//   AWS_SESSION_TOKEN                                      optional
//   AWS_ENDPOINT_URL_KINESIS_VIDEO                         endpoint unless --endpoint is given
//   NODE_EXTRA_CA_CERTS                                    read by node itself: extra trusted CAs
//   KVSRTC_JS_MAX_ATTEMPTS                                 SDK maxAttempts, default 1 (no retries)
//
// Output, always exactly one line, exit status 0:
//
//   {"ok":true,"output":{...},"requestId":"...","httpStatusCode":200}
//   {"ok":false,"name":"ResourceNotFoundException","message":"...","httpStatusCode":404,
//    "fault":"client","requestId":"...","code":"..."}
//
// "code" is present only for errors that carry one (Node network and TLS
// errors such as ECONNREFUSED or DEPTH_ZERO_SELF_SIGNED_CERT). A non-zero exit
// status (with a message on stderr) means the harness itself was misused.

const clients = {
  kinesisvideo: {
    pkg: "@aws-sdk/client-kinesis-video",
    ctor: "KinesisVideoClient",
  },
  signaling: {
    pkg: "@aws-sdk/client-kinesis-video-signaling",
    ctor: "KinesisVideoSignalingClient",
  },
  storage: {
    pkg: "@aws-sdk/client-kinesis-video-webrtc-storage",
    ctor: "KinesisVideoWebRTCStorageClient",
  },
};

function usage(msg) {
  process.stderr.write(
    `call.mjs: ${msg}\n` +
      "usage: node call.mjs <kinesisvideo|signaling|storage> <OperationName> '<json input>' [--endpoint URL]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const positional = [];
  let endpoint;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--endpoint") {
      if (i + 1 >= argv.length) usage("--endpoint needs a URL");
      endpoint = argv[++i];
    } else if (a.startsWith("--endpoint=")) {
      endpoint = a.slice("--endpoint=".length);
    } else {
      positional.push(a);
    }
  }
  if (positional.length < 2 || positional.length > 3) usage("wrong number of arguments");
  const [client, op, rawInput = "{}"] = positional;
  if (!Object.hasOwn(clients, client)) usage(`unknown client ${JSON.stringify(client)}`);
  let input;
  try {
    input = JSON.parse(rawInput);
  } catch (e) {
    usage(`input is not JSON: ${e.message}`);
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    usage("input must be a JSON object");
  }
  endpoint ??= process.env.AWS_ENDPOINT_URL_KINESIS_VIDEO || undefined;
  return { client, op, input, endpoint };
}

function requireEnv(name) {
  const v = process.env[name];
  if (!v) usage(`environment variable ${name} is not set`);
  return v;
}

// JSON replacer: byte blobs as base64, bigints as strings. Dates are already
// ISO strings here because JSON.stringify calls toJSON first.
function replacer(_key, value) {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (typeof value === "bigint") return value.toString();
  return value;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj, replacer) + "\n");
}

async function main() {
  const { client, op, input, endpoint } = parseArgs(process.argv.slice(2));
  const region = requireEnv("AWS_REGION");
  const credentials = {
    accessKeyId: requireEnv("AWS_ACCESS_KEY_ID"),
    secretAccessKey: requireEnv("AWS_SECRET_ACCESS_KEY"),
  };
  if (process.env.AWS_SESSION_TOKEN) credentials.sessionToken = process.env.AWS_SESSION_TOKEN;

  let maxAttempts = 1;
  if (process.env.KVSRTC_JS_MAX_ATTEMPTS) {
    maxAttempts = Number(process.env.KVSRTC_JS_MAX_ATTEMPTS);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      usage(`KVSRTC_JS_MAX_ATTEMPTS must be a positive integer, got ${process.env.KVSRTC_JS_MAX_ATTEMPTS}`);
    }
  }

  // The SDK's own switch for the "node >= 22 from January 2027" notice; it
  // silences only that warning, every other warning still reaches stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  const spec = clients[client];
  const mod = await import(spec.pkg);
  const Command = mod[`${op}Command`];
  if (typeof Command !== "function") usage(`${spec.pkg} has no ${op}Command`);

  const c = new mod[spec.ctor]({ region, credentials, endpoint, maxAttempts });
  try {
    const out = await c.send(new Command(input));
    const { $metadata, ...output } = out;
    emit({
      ok: true,
      output,
      requestId: $metadata?.requestId,
      httpStatusCode: $metadata?.httpStatusCode,
    });
  } catch (err) {
    emit({
      ok: false,
      name: err?.name,
      message: err?.message,
      httpStatusCode: err?.$metadata?.httpStatusCode,
      fault: err?.$fault,
      requestId: err?.$metadata?.requestId,
      code: typeof err?.code === "string" ? err.code : undefined,
    });
  } finally {
    c.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`call.mjs: harness failure: ${err?.stack ?? err}\n`);
  process.exit(1);
});
