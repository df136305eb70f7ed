#!/usr/bin/env python3
"""End-to-end KMS scenario through boto3 against a fresh keytrail.

Starts the built binary (KEYTRAIL_BIN, default target/debug/keytrail) on a free port with
RUST_LOG=trace and --events-out, points boto3 at it with AWS_ENDPOINT_URL and dummy
credentials, runs create/alias/encrypt/decrypt/data keys/re-encrypt/disable/rotate/
schedule-deletion/cancel with paginators, checks every output, then checks the records from
GET /_keytrail/events (eventName sequence, requestParameters, errors, request ids) and that no
plaintext, data key or ciphertext appears in the records, the --events-out file or the server's
log. Exits non-zero on the first failure and always stops the server.
"""

import json
import os
import sys
import time
import urllib.request

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boto3_harness import assert_secrets_absent, expect_error, fail, point_boto3_at, run, start, stop  # noqa: E402

ACCOUNT = "111122223333"


def scenario(addr, work):
    point_boto3_at(addr)
    kms = boto3.client("kms", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    request_ids = []  # (eventName, request id) of every API call, in order

    def call(name, **kwargs):
        out = getattr(kms, name)(**kwargs)
        request_ids.append(out["ResponseMetadata"]["RequestId"])
        return out

    def call_fails(code, name, **kwargs):
        request_ids.append(expect_error(code, getattr(kms, name), **kwargs))

    plaintext = f"boto3 scenario plaintext {time.time_ns()} never to be logged".encode()
    secrets = {"plaintext": plaintext}

    key = call("create_key", Description="boto3 scenario", Tags=[{"TagKey": "suite", "TagValue": "e2e"}])["KeyMetadata"]
    key_id, key_arn = key["KeyId"], key["Arn"]
    assert key_arn == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}", key_arn
    assert key["KeyState"] == "Enabled" and key["KeySpec"] == "SYMMETRIC_DEFAULT", key
    other = call("create_key")["KeyMetadata"]
    other_id, other_arn = other["KeyId"], other["Arn"]
    call("create_alias", AliasName="alias/boto3-scenario", TargetKeyId=key_id)

    # Paginators over ListKeys and ListAliases (Limit/Marker).
    for n in range(3):
        call("create_alias", AliasName=f"alias/boto3-extra-{n}", TargetKeyId=other_id)
    pages = list(kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 2}))
    request_ids.extend(p["ResponseMetadata"]["RequestId"] for p in pages)
    names = [a["AliasName"] for p in pages for a in p["Aliases"]]
    assert len(pages) == 2 and names == sorted(names) and "alias/boto3-scenario" in names, (len(pages), names)
    pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1}))
    request_ids.extend(p["ResponseMetadata"]["RequestId"] for p in pages)
    assert [k["KeyId"] for p in pages for k in p["Keys"]] == [key_id, other_id]

    context = {"purpose": "e2e", "suite": "boto3"}
    enc = call("encrypt", KeyId="alias/boto3-scenario", Plaintext=plaintext, EncryptionContext=context)
    assert enc["KeyId"] == key_arn, enc["KeyId"]
    ciphertext = enc["CiphertextBlob"]
    secrets["ciphertext"] = ciphertext
    dec = call("decrypt", CiphertextBlob=ciphertext, EncryptionContext=context)
    assert dec["Plaintext"] == plaintext and dec["KeyId"] == key_arn, dec
    dec = call("decrypt", CiphertextBlob=ciphertext, EncryptionContext=context, KeyId=key_arn)
    assert dec["Plaintext"] == plaintext
    call_fails("InvalidCiphertextException", "decrypt", CiphertextBlob=ciphertext, EncryptionContext={"purpose": "other"})
    call_fails("IncorrectKeyException", "decrypt", CiphertextBlob=ciphertext, EncryptionContext=context, KeyId=other_id)
    damaged = bytearray(ciphertext)
    damaged[-1] ^= 1
    call_fails("InvalidCiphertextException", "decrypt", CiphertextBlob=bytes(damaged), EncryptionContext=context)

    dk = call("generate_data_key", KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    assert len(dk["Plaintext"]) == 32
    secrets["data key"] = dk["Plaintext"]
    secrets["encrypted data key"] = dk["CiphertextBlob"]
    assert call("decrypt", CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=context)["Plaintext"] == dk["Plaintext"]

    moved = call("re_encrypt", CiphertextBlob=ciphertext, SourceEncryptionContext=context, DestinationKeyId=other_arn)
    assert moved["SourceKeyId"] == key_arn and moved["KeyId"] == other_arn, moved
    secrets["re-encrypted ciphertext"] = moved["CiphertextBlob"]
    assert call("decrypt", CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == plaintext

    call("disable_key", KeyId=key_id)
    call_fails("DisabledException", "encrypt", KeyId=key_id, Plaintext=plaintext)
    call("enable_key", KeyId=key_arn)

    call("enable_key_rotation", KeyId=key_id, RotationPeriodInDays=90)
    status = call("get_key_rotation_status", KeyId=key_id)
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 90, status
    assert call("rotate_key_on_demand", KeyId=key_id)["KeyId"] == key_id
    rotations = call("list_key_rotations", KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"], rotations
    assert call("decrypt", CiphertextBlob=ciphertext, EncryptionContext=context)["Plaintext"] == plaintext

    deletion = call("schedule_key_deletion", KeyId=key_id, PendingWindowInDays=7)
    assert deletion["KeyState"] == "PendingDeletion" and deletion["PendingWindowInDays"] == 7, deletion
    call_fails("KMSInvalidStateException", "decrypt", CiphertextBlob=ciphertext, EncryptionContext=context)
    call("cancel_key_deletion", KeyId=key_id)
    assert call("describe_key", KeyId="alias/boto3-scenario")["KeyMetadata"]["KeyState"] == "Disabled"

    call_fails("DisabledException", "sign", KeyId=key_id, Message=plaintext, SigningAlgorithm="ECDSA_SHA_256")
    return key_id, key_arn, other_arn, request_ids, secrets


def check_records(addr, work, key_id, key_arn, other_arn, request_ids, secrets):
    with urllib.request.urlopen(f"http://{addr}/_keytrail/events") as resp:
        raw = resp.read()
    records = json.loads(raw)["Records"]
    api = [r for r in records if r["eventType"] == "AwsApiCall"]
    assert [r["requestID"] for r in api] == request_ids, "one record per call, requestID = x-amzn-RequestId, in order"
    names = [r["eventName"] for r in records]
    expected = (
        ["CreateKey", "CreateKey", "CreateAlias"] + ["CreateAlias"] * 3 + ["ListAliases"] * 2 + ["ListKeys"] * 2
        + ["Encrypt", "Decrypt", "Decrypt", "Decrypt", "Decrypt", "Decrypt"]
        + ["GenerateDataKey", "Decrypt", "ReEncrypt", "Decrypt"]
        + ["DisableKey", "Encrypt", "EnableKey"]
        + ["EnableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "RotateKey", "ListKeyRotations", "Decrypt"]
        + ["ScheduleKeyDeletion", "Decrypt", "CancelKeyDeletion", "DescribeKey", "Sign"]
    )
    assert names == expected, f"eventName sequence:\n  got      {names}\n  expected {expected}"
    errors = [(r["eventName"], r["errorCode"]) for r in records if "errorCode" in r]
    assert errors == [
        ("Decrypt", "InvalidCiphertextException"),
        ("Decrypt", "IncorrectKeyException"),
        ("Decrypt", "InvalidCiphertextException"),
        ("Encrypt", "DisabledException"),
        ("Decrypt", "KMSInvalidStateException"),
        ("Sign", "DisabledException"),
    ], errors
    for r in records:
        assert r["eventVersion"] == "1.11" and r["eventSource"] == "kms.amazonaws.com", r
        assert r["managementEvent"] is True and r["eventCategory"] == "Management", r
        assert r["awsRegion"] == "us-east-1" and r["recipientAccountId"] == ACCOUNT, r
        if r["eventType"] == "AwsApiCall":
            assert r["userIdentity"] == {
                "type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                "accountId": ACCOUNT, "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            }, r["userIdentity"]
            assert "Boto3/" in r["userAgent"], r["userAgent"]
            assert r["sourceIPAddress"] == "127.0.0.1", r

    def first(name, **match):
        for r in records:
            if r["eventName"] == name and all(r.get(k) == v for k, v in match.items()):
                return r
        fail(f"no {name} record matching {match}")

    context = {"purpose": "e2e", "suite": "boto3"}
    enc = first("Encrypt")
    assert enc["requestParameters"] == {
        "keyId": "alias/boto3-scenario", "encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }, enc["requestParameters"]
    assert enc["responseElements"] is None and [x["ARN"] for x in enc["resources"]] == [key_arn], enc
    dec = first("Decrypt")
    assert dec["requestParameters"] == {"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, dec
    assert [x["ARN"] for x in dec["resources"]] == [key_arn], "Decrypt without KeyId names the key from the ciphertext"
    wrong = first("Decrypt", errorCode="IncorrectKeyException")
    assert wrong["errorMessage"] == "The key ID in the request does not identify a CMK that can perform this operation."
    re_enc = first("ReEncrypt")
    assert [x["ARN"] for x in re_enc["resources"]] == [key_arn, other_arn], "source, then destination"
    assert re_enc["requestParameters"] == {
        "sourceEncryptionContext": context, "destinationKeyId": other_arn,
        "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }, re_enc["requestParameters"]
    assert first("GenerateDataKey")["requestParameters"] == {"keyId": key_id, "keySpec": "AES_256", "encryptionContext": context}
    assert first("EnableKeyRotation")["requestParameters"] == {"keyId": key_id, "rotationPeriodInDays": 90}
    assert first("EnableKeyRotation")["responseElements"] == {"keyId": key_arn}
    assert first("RotateKey")["serviceEventDetails"]["rotationType"] == "ON_DEMAND"
    assert "requestID" not in first("RotateKey")
    assert first("ScheduleKeyDeletion")["requestParameters"] == {"keyId": key_id, "pendingWindowInDays": 7}
    assert first("CancelKeyDeletion")["responseElements"] == {"keyId": key_arn}
    assert first("Sign")["requestParameters"] == {"keyId": key_id, "signingAlgorithm": "ECDSA_SHA_256", "messageType": "RAW"}, "message left out"
    list_keys = [r for r in records if r["eventName"] == "ListKeys"]
    assert list_keys[0]["requestParameters"] == {"limit": 1}, list_keys[0]
    assert "marker" in list_keys[1]["requestParameters"], list_keys[1]

    events_out = open(os.path.join(work, "events.jsonl"), "rb").read()
    lines = events_out.decode().splitlines()
    assert [json.loads(line) for line in lines] == records, "--events-out and /_keytrail/events differ"
    places = {"records": raw, "--events-out": events_out, "server log": open(os.path.join(work, "keytrail.log"), "rb").read()}
    assert_secrets_absent(secrets, places)
    return len(records)


def main():
    def body(binary, work):
        proc, addr = start(binary, work, "--events-out", os.path.join(work, "events.jsonl"))
        try:
            print(f"e2e_boto3_kms: keytrail on {addr}")
            facts = scenario(addr, work)
            return f"OK, {check_records(addr, work, *facts)} records checked"
        finally:
            stop(proc)

    return run("e2e_boto3_kms", body)


if __name__ == "__main__":
    sys.exit(main())
