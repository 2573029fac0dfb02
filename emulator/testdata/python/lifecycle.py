# The control plane, the HTTPS data plane and the storage service as a boto3
# user calls them (TestBoto3). INPUT: {"name": channel name}. Emits a dict of
# pyrun results keyed by step; pyrun's prelude gives client, call and emit.
kv = client("kinesisvideo")
r = {}
name = INPUT["name"]


def out(key, *path):
    v = r[key].get("output", {})
    for p in path:
        v = v.get(p, {}) if isinstance(v, dict) else {}
    return v or ""


r["create"] = call(kv, "CreateSignalingChannel", ChannelName=name, ChannelType="SINGLE_MASTER",
                   SingleMasterConfiguration={"MessageTtlSeconds": 60}, Tags=[{"Key": "team", "Value": "py"}])
arn = out("create", "ChannelARN")
r["create_again"] = call(kv, "CreateSignalingChannel", ChannelName=name)
r["describe"] = call(kv, "DescribeSignalingChannel", ChannelARN=arn)
r["describe_by_name"] = call(kv, "DescribeSignalingChannel", ChannelName=name)
version = out("describe", "ChannelInfo", "Version")
r["update"] = call(kv, "UpdateSignalingChannel", ChannelARN=arn, CurrentVersion=version,
                   SingleMasterConfiguration={"MessageTtlSeconds": 120})
r["update_stale"] = call(kv, "UpdateSignalingChannel", ChannelARN=arn, CurrentVersion=version,
                         SingleMasterConfiguration={"MessageTtlSeconds": 30})
r["describe_updated"] = call(kv, "DescribeSignalingChannel", ChannelARN=arn)

# Two more channels, listed a page at a time by boto3's paginator (NextToken).
for n in ("2", "3"):
    r["create_" + n] = call(kv, "CreateSignalingChannel", ChannelName=name + "-" + n)
pages = kv.get_paginator("list_signaling_channels").paginate(
    ChannelNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": name},
    PaginationConfig={"PageSize": 1})
r["list_pages"] = {"ok": True, "httpStatusCode": 200, "output": [[c["ChannelName"] for c in p["ChannelInfoList"]] for p in pages]}

# botocore sends non-ASCII as \u escapes (json.dumps); the model's tag
# patterns allow letters of any script.
r["tag"] = call(kv, "TagResource", ResourceARN=arn, Tags=[{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "Zoë 東京"}])
r["untag"] = call(kv, "UntagResource", ResourceARN=arn, TagKeyList=["team"])
r["tags"] = call(kv, "ListTagsForResource", ResourceARN=arn)

r["create_stream"] = call(kv, "CreateStream", StreamName=name + "-stream", DataRetentionInHours=24,
                          Tags={"team": "py"})
stream_arn = out("create_stream", "StreamARN")
r["create_stream_2"] = call(kv, "CreateStream", StreamName=name + "-stream-2", DataRetentionInHours=1)
pages = kv.get_paginator("list_streams").paginate(
    StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": name},
    PaginationConfig={"PageSize": 1})
r["list_stream_pages"] = {"ok": True, "httpStatusCode": 200,
                          "output": [[s["StreamName"] for s in p["StreamInfoList"]] for p in pages]}
r["create_stream_again"] = call(kv, "CreateStream", StreamName=name + "-stream")
r["describe_stream"] = call(kv, "DescribeStream", StreamName=name + "-stream")
r["tag_stream"] = call(kv, "TagStream", StreamName=name + "-stream", Tags={"env": "test"})
r["untag_stream"] = call(kv, "UntagStream", StreamARN=stream_arn, TagKeyList=["team"])
r["stream_tags"] = call(kv, "ListTagsForStream", StreamARN=stream_arn)
r["stream_tags_missing"] = call(kv, "ListTagsForStream", StreamName="no-such-stream")
r["describe_storage_disabled"] = call(kv, "DescribeMediaStorageConfiguration", ChannelARN=arn)
r["update_storage"] = call(kv, "UpdateMediaStorageConfiguration", ChannelARN=arn,
                           MediaStorageConfiguration={"StreamARN": stream_arn, "Status": "ENABLED"})
r["describe_storage"] = call(kv, "DescribeMediaStorageConfiguration", ChannelARN=arn)

for role in ("MASTER", "VIEWER"):
    r["endpoint_" + role] = call(kv, "GetSignalingChannelEndpoint", ChannelARN=arn,
                                 SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS", "WEBRTC"], "Role": role})
r["endpoint_no_storage"] = call(kv, "GetSignalingChannelEndpoint", ChannelARN=out("create_2", "ChannelARN"),
                               SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS", "WEBRTC"], "Role": "MASTER"})
eps = {e["Protocol"]: e["ResourceEndpoint"] for e in out("endpoint_MASTER", "ResourceEndpointList") or []}

# The HTTPS data plane on the returned endpoint (§3.1).
sig = client("kinesis-video-signaling", endpoint=eps.get("HTTPS"))
r["ice"] = call(sig, "GetIceServerConfig", ChannelARN=arn, ClientId="py-viewer", Service="TURN")
r["ice_minimal"] = call(sig, "GetIceServerConfig", ChannelARN=arn)
# §3.2: no master connected, so no Answer.
r["alexa"] = call(sig, "SendAlexaOfferToMaster", ChannelARN=arn, SenderClientId="alexa-1",
                  MessagePayload="eyJ0eXBlIjoib2ZmZXIifQ==")
r["ice_missing"] = call(sig, "GetIceServerConfig", ChannelARN=arn.replace("/" + name + "/", "/no-such-channel/"))

# The storage service on the WEBRTC endpoint (§6): no master is connected.
st = client("kinesis-video-webrtc-storage", endpoint=eps.get("WEBRTC"))
r["join"] = call(st, "JoinStorageSession", channelArn=arn)
r["join_viewer"] = call(st, "JoinStorageSessionAsViewer", channelArn=arn, clientId="py-viewer")
r["join_other_channel"] = call(st, "JoinStorageSession", channelArn=out("create_2", "ChannelARN"))
r["join_bad_arn"] = call(st, "JoinStorageSession", channelArn="arn:aws:kinesisvideo:us-west-2:1:channel/x")
r["join_missing"] = call(st, "JoinStorageSession", channelArn=arn.replace("/" + name + "/", "/no-such-channel/"))

r["describe_missing"] = call(kv, "DescribeSignalingChannel", ChannelName="no-such-channel")
r["describe_stream_missing"] = call(kv, "DescribeStream", StreamName="no-such-stream")
r["invalid_name"] = call(kv, "CreateSignalingChannel", ChannelName="bad name!")
r["invalid_ttl"] = call(kv, "UpdateSignalingChannel", ChannelARN=arn, CurrentVersion=out("describe_updated", "ChannelInfo", "Version"),
                        SingleMasterConfiguration={"MessageTtlSeconds": 121})
arn3 = out("create_3", "ChannelARN")
r["delete_stale"] = call(kv, "DeleteSignalingChannel", ChannelARN=arn3, CurrentVersion="stale0version")
r["delete"] = call(kv, "DeleteSignalingChannel", ChannelARN=arn3)
r["describe_deleted"] = call(kv, "DescribeSignalingChannel", ChannelARN=arn3)
emit(r)
