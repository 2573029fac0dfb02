# botocore's own endpoint variables (botocore >= 1.31), no endpoint_url
# (TestBoto3EndpointFromEnv): the process starts with the emulator's Env()
# (AWS_ENDPOINT_URL_KINESIS_VIDEO), then switches to AWS_ENDPOINT_URL, the
# form for every service, and trusts the CA through verify= instead of
# AWS_CA_BUNDLE. INPUT: {"url": the emulator's URL, "ca": its CA bundle}.
import os

r = {}
kv = client("kinesisvideo")
r["create"] = call(kv, "CreateSignalingChannel", ChannelName="py-env")
arn = r["create"].get("output", {}).get("ChannelARN", "")
r["endpoint"] = call(kv, "GetSignalingChannelEndpoint", ChannelARN=arn,
                     SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS"], "Role": "VIEWER"})
del os.environ["AWS_ENDPOINT_URL_KINESIS_VIDEO"]
os.environ["AWS_ENDPOINT_URL"] = INPUT["url"]
r["describe_global"] = call(client("kinesisvideo"), "DescribeSignalingChannel", ChannelARN=arn)
# The signaling client now also sends to the control-plane host, where the
# data plane is not served (§1.1).
r["ice_on_control_plane"] = call(client("kinesis-video-signaling"), "GetIceServerConfig", ChannelARN=arn)
os.environ.pop("AWS_CA_BUNDLE")
r["no_ca"] = call(client("kinesisvideo"), "ListSignalingChannels")
r["verify_param"] = call(client("kinesisvideo", verify=INPUT["ca"]), "ListSignalingChannels")
emit(r)
