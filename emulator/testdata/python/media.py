# Read stored media back with the unmodified boto3 clients, as a user does:
# GetDataEndpoint, then kinesis-video-media and kinesis-video-archived-media
# on the endpoint it returns. INPUT: stream, start and end (epoch seconds).
import datetime

utc = datetime.timezone.utc
name = INPUT["stream"]
start = datetime.datetime.fromtimestamp(INPUT["start"], tz=utc)
end = datetime.datetime.fromtimestamp(INPUT["end"], tz=utc)
rng = {"StartTimestamp": start, "EndTimestamp": end}

kv = client("kinesisvideo")
out = {}
out["endpoint_media"] = call(kv, "GetDataEndpoint", StreamName=name, APIName="GET_MEDIA")
out["endpoint_clip"] = call(kv, "GetDataEndpoint", StreamName=name, APIName="GET_CLIP")
out["endpoint_missing"] = call(kv, "GetDataEndpoint", StreamName="gone", APIName="GET_MEDIA")

media = client("kinesis-video-media", endpoint=out["endpoint_media"]["output"]["DataEndpoint"])
out["earliest"] = call(media, "GetMedia", StreamName=name, StartSelector={"StartSelectorType": "EARLIEST"})
out["from_time"] = call(media, "GetMedia", StreamName=name,
                        StartSelector={"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": start + datetime.timedelta(seconds=3.5)})
out["media_missing"] = call(media, "GetMedia", StreamName="gone", StartSelector={"StartSelectorType": "NOW"})
out["media_bad"] = call(media, "GetMedia", StreamName=name, StartSelector={"StartSelectorType": "CONTINUATION_TOKEN"})

archived = client("kinesis-video-archived-media", endpoint=out["endpoint_clip"]["output"]["DataEndpoint"])
out["list"] = call(archived, "ListFragments", StreamName=name,
                   FragmentSelector={"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": rng})
numbers = [f["FragmentNumber"] for f in out["list"].get("output", {}).get("Fragments", [])]
out["for_list"] = call(archived, "GetMediaForFragmentList", StreamName=name, Fragments=sorted(numbers)[:2])
out["clip"] = call(archived, "GetClip", StreamName=name,
                   ClipFragmentSelector={"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": rng})
out["clip_empty"] = call(archived, "GetClip", StreamName=name, ClipFragmentSelector={"FragmentSelectorType": "SERVER_TIMESTAMP",
                         "TimestampRange": {"StartTimestamp": start - datetime.timedelta(hours=2), "EndTimestamp": start - datetime.timedelta(hours=1)}})
out["clip_no_retention"] = call(archived, "GetClip", StreamName="no-retention",
                                ClipFragmentSelector={"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": rng})
out["clip_backwards"] = call(archived, "GetClip", StreamName=name, ClipFragmentSelector={"FragmentSelectorType": "SERVER_TIMESTAMP",
                             "TimestampRange": {"StartTimestamp": end, "EndTimestamp": start}})
emit(out)
