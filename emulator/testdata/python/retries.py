# botocore's standard retry mode against the emulator's injected refusals
# (TestBoto3Retries). Emits a dict of pyrun results keyed by operation.
kv = client("kinesisvideo")
r = {"create": call(kv, "CreateSignalingChannel", ChannelName="py-retry")}
arn = r["create"].get("output", {}).get("ChannelARN", "")
r["list"] = call(kv, "ListSignalingChannels")
r["describe"] = call(kv, "DescribeSignalingChannel", ChannelARN=arn)
emit(r)
