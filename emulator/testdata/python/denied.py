# A credential that may only DescribeSignalingChannel (TestBoto3): every
# plane's authorization error as botocore parses it. INPUT: {"arn", "https",
# "webrtc"}. Emits a dict of pyrun results keyed by step.
import os

kv = client("kinesisvideo")
key, token = os.environ["AWS_ACCESS_KEY_ID"], os.environ.get("AWS_SESSION_TOKEN")
arn = INPUT["arn"]
emit({
    "describe": call(kv, "DescribeSignalingChannel", ChannelARN=arn),
    "create": call(kv, "CreateSignalingChannel", ChannelName="denied"),
    "endpoint": call(kv, "GetSignalingChannelEndpoint", ChannelARN=arn,
                     SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS"], "Role": "VIEWER"}),
    "describe_stream": call(kv, "DescribeStream", StreamName="any"),
    "ice": call(client("kinesis-video-signaling", endpoint=INPUT["https"]), "GetIceServerConfig", ChannelARN=arn),
    "join": call(client("kinesis-video-webrtc-storage", endpoint=INPUT["webrtc"]), "JoinStorageSession", channelArn=arn),
    # The SigV4 front end (§1.4): a wrong secret, an unknown key, no signature.
    "bad_secret": call(client("kinesisvideo", aws_access_key_id=key, aws_secret_access_key="not-the-secret",
                                aws_session_token=token), "DescribeSignalingChannel", ChannelARN=arn),
    "unknown_key": call(client("kinesisvideo", aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="unknown-secret"), "DescribeSignalingChannel", ChannelARN=arn),
    "unsigned": call(client("kinesisvideo", config=botocore.config.Config(signature_version=botocore.UNSIGNED)),
                     "DescribeSignalingChannel", ChannelARN=arn),
})
