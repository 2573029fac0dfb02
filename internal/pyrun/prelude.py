# pyrun prelude: runs before every script given to pyrun.Run. It gives the
# script boto3 clients configured from the environment pyrun built (region,
# credentials, AWS_CA_BUNDLE, AWS_MAX_ATTEMPTS are read by botocore itself),
# `call` to send one operation and get a JSON-able outcome, and `emit` to hand
# the script's single result back to Go.
import base64 as _b64
import datetime as _dt
import json as _json
import os as _os
import sys as _sys

import boto3
import botocore
import botocore.config
import botocore.exceptions
from botocore import xform_name as _xform_name

# Stray prints must not corrupt the one JSON line Go reads: the script's
# stdout is stderr, emit writes to the real stdout.
_result_out = _sys.stdout
_sys.stdout = _sys.stderr
_emitted = False

INPUT = _json.loads(_sys.stdin.read() or "null")
ENDPOINT = _os.environ.get("KVSRTC_PY_ENDPOINT") or None


def client(service, endpoint=None, **kwargs):
    """A boto3 client for service (such as "kinesisvideo"); endpoint, or else
    pyrun's Env.Endpoint, is its endpoint_url. With neither, botocore finds
    the endpoint itself (AWS_ENDPOINT_URL*)."""
    url = endpoint or ENDPOINT
    if url:
        kwargs.setdefault("endpoint_url", url)
    return boto3.session.Session().client(service, **kwargs)


def jsonable(v):
    """v with datetimes as ISO 8601, bytes and streaming bodies as base64."""
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return _b64.b64encode(bytes(v)).decode("ascii")
    if hasattr(v, "read"):
        return _b64.b64encode(v.read()).decode("ascii")
    return v


def call(c, op, **params):
    """Send operation op (PascalCase such as "GetIceServerConfig", or the
    boto3 method name) with client c; return the pyrun.Result shape. A
    streaming body (GetMedia's Payload) is read to its end: for a live
    stream, call the client method yourself and read what you need."""
    name = _xform_name(op) if op[:1].isupper() else op
    try:
        out = getattr(c, name)(**params)
    except botocore.exceptions.ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        err = e.response.get("Error", {})
        return {
            "ok": False,
            "code": err.get("Code", ""),
            "message": err.get("Message", ""),
            "class": type(e).__name__,
            "httpStatusCode": meta.get("HTTPStatusCode", 0),
            "requestId": meta.get("RequestId", ""),
            "headers": dict(meta.get("HTTPHeaders", {})),
        }
    except botocore.exceptions.BotoCoreError as e:
        return {"ok": False, "class": type(e).__name__, "message": str(e)}
    meta = out.pop("ResponseMetadata", {})
    return {
        "ok": True,
        "output": jsonable(out),
        "httpStatusCode": meta.get("HTTPStatusCode", 0),
        "requestId": meta.get("RequestId", ""),
        "headers": dict(meta.get("HTTPHeaders", {})),
    }


def emit(v):
    """Hand v (JSON-able) back to Go; call it exactly once."""
    global _emitted
    if _emitted:
        raise RuntimeError("pyrun: emit called twice")
    _emitted = True
    _result_out.write(_json.dumps(jsonable(v)) + "\n")
    _result_out.flush()

