# The endpoints botocore derives without an override (TestBotocoreEndpoints):
# no request is sent. INPUT: {"regions": [...], "services": [...]}. Emits
# {region: {"default"|"fips": {service: endpoint_url}}}.
import boto3
from botocore.config import Config


def url(service, region, **cfg):
    return boto3.session.Session().client(service, region_name=region, config=Config(**cfg)).meta.endpoint_url


emit({r: {"default": {s: url(s, r) for s in INPUT["services"]},
          "fips": {s: url(s, r, use_fips_endpoint=True) for s in INPUT["services"]}}
      for r in INPUT["regions"]})
