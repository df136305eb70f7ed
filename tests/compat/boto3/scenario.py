"""boto3 (pinned in ../requirements.txt) finding keytrail the two ways botocore's configured
endpoints offer without code changes: the AWS_ENDPOINT_URL_KMS variable, and a config file whose
profile names a `services` section with per-service endpoint_url. Another service's client, left
at its real endpoint, is not sent to keytrail.
"""

import os

import boto3
from compat import ENDPOINT, expect, names, records, reset, say

CREDS = {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "any"}

# 1. AWS_ENDPOINT_URL_KMS: only KMS goes to keytrail.
os.environ["AWS_ENDPOINT_URL_KMS"] = ENDPOINT
session = boto3.Session(region_name="us-east-1", **CREDS)
kms = session.client("kms")
expect(kms.meta.endpoint_url == ENDPOINT, f"kms endpoint {kms.meta.endpoint_url}")
expect(session.client("sts").meta.endpoint_url != ENDPOINT, "STS must keep its real endpoint")
key = kms.create_key(Description="compat boto3")["KeyMetadata"]["KeyId"]
blob = kms.encrypt(KeyId=key, Plaintext=b"through AWS_ENDPOINT_URL_KMS")["CiphertextBlob"]
expect(kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"through AWS_ENDPOINT_URL_KMS", "round trip")
pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1}))
expect(sum(len(p["Keys"]) for p in pages) == 1, "paginated ListKeys")
expect(names() == ["CreateKey", "Encrypt", "Decrypt", "ListKeys"], f"records: {names()}")
expect(all("Boto3/" in r["userAgent"] for r in records()), "boto3's user agent in every record")
del os.environ["AWS_ENDPOINT_URL_KMS"]
say("AWS_ENDPOINT_URL_KMS sends KMS, and only KMS, to keytrail")

# 2. A services section in the config file (botocore's "services" configuration).
reset()
with open(os.environ["AWS_CONFIG_FILE"], "w") as f:
    f.write(
        f"""[profile compat]
region = us-east-1
services = keytrail

[services keytrail]
kms =
  endpoint_url = {ENDPOINT}
sts =
  endpoint_url = {ENDPOINT}
cloudtrail =
  endpoint_url = {ENDPOINT}
"""
    )
session = boto3.Session(profile_name="compat", **CREDS)
kms = session.client("kms")
expect(kms.meta.endpoint_url == ENDPOINT, f"kms endpoint from the services section: {kms.meta.endpoint_url}")
key = kms.create_key()["KeyMetadata"]["Arn"]
dk = kms.generate_data_key(KeyId=key, NumberOfBytes=32, EncryptionContext={"team": "blue"})
expect(len(dk["Plaintext"]) == 32, "data key")
expect(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"team": "blue"})["Plaintext"] == dk["Plaintext"], "data key decrypts")
me = session.client("sts").get_caller_identity()
expect(me["Arn"] == "arn:aws:iam::111122223333:root", f"caller {me['Arn']}")
trail = session.client("cloudtrail")
events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GenerateDataKey"}])["Events"]
expect(len(events) == 1, "LookupEvents finds the GenerateDataKey")
expect(names() == ["CreateKey", "GenerateDataKey", "Decrypt", "GetCallerIdentity", "LookupEvents"], f"records: {names()}")
r = records("GenerateDataKey")[0]
expect(r["requestParameters"] == {"keyId": key, "numberOfBytes": 32, "encryptionContext": {"team": "blue"}}, f"{r['requestParameters']}")
expect(r["responseElements"] is None, "no data key in the record")
say("a services section sends KMS, STS and CloudTrail to keytrail")
