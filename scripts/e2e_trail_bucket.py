#!/usr/bin/env python3
"""End-to-end: trails that log pipelines can read.

1. The trail bucket over the S3 API on keytrail's endpoint: the AWS CLI's `s3 ls --recursive`,
   `s3 cp` and `s3 sync`, boto3's `list_objects_v2` / `get_object` / `head_object`, path-style
   and virtual-host-style, compared byte for byte with the files on disk.
2. `aws cloudtrail validate-logs` on an untouched trail (every file valid) and on each kind of
   tampering: one byte of a log file changed, a log file deleted, a digest changed, a digest
   deleted (each reported, naming the file).
3. With `--data-dir`, `kill -9` between deliveries loses no record from the log files and breaks
   no digest chain.
4. Delivery into a real S3 server (moto's, started here) with `--s3-endpoint`: the server is
   stopped mid-run (files wait, GetTrailStatus shows the error), keytrail is killed with -9 and
   restarted, the server comes back, and every record arrives; validate-logs, reading the
   store, finds the whole chain valid.

Usage: scripts/e2e_trail_bucket.py   (after `cargo build`; KEYTRAIL_BIN names another binary)
Needs: python3 with boto3, the AWS CLI (v1 or v2), moto_server. Exits non-zero on a failed check.
"""

import datetime
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KEYTRAIL_BIN") or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "debug", "keytrail")
ACCOUNT = "111122223333"
REGION = "us-east-1"
WORK = tempfile.mkdtemp(prefix="keytrail-e2e-bucket-")
BASE_ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY="keytrail-e2e",
    AWS_DEFAULT_REGION=REGION,
    AWS_CONFIG_FILE="/dev/null",
    AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    AWS_PAGER="",
    NO_COLOR="1",
)
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_ENDPOINT_URL_KMS"):
    BASE_ENV.pop(name, None)
CHILDREN = []


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    for child in CHILDREN:
        log = getattr(child, "log_path", None)
        if log and os.path.exists(log):
            print(f"--- {log} ---", file=sys.stderr)
            with open(log, errors="replace") as f:
                print(f.read()[-4000:], file=sys.stderr)
    cleanup()
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"ok: {message}")


def cleanup():
    for child in CHILDREN:
        if child.poll() is None:
            child.kill()
            child.wait()
    shutil.rmtree(WORK, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_keytrail(args, name):
    log_path = os.path.join(WORK, f"{name}.log")
    log = open(log_path, "a")
    env = dict(BASE_ENV)
    proc = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", *args], stdout=subprocess.DEVNULL, stderr=log, env=env)
    proc.log_path = log_path
    CHILDREN.append(proc)
    size = os.path.getsize(log_path)
    for _ in range(200):
        with open(log_path) as f:
            f.seek(size)
            m = re.search(r"keytrail listening on ([0-9.:]+)", f.read())
        if m:
            return proc, f"http://{m.group(1)}"
        if proc.poll() is not None:
            fail(f"keytrail exited at start-up ({args})")
        time.sleep(0.05)
    fail("keytrail did not say where it listens")


def start_moto(port):
    log_path = os.path.join(WORK, f"moto-{port}.log")
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=open(log_path, "a"), stderr=subprocess.STDOUT)
    proc.log_path = log_path
    CHILDREN.append(proc)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc
        except Exception:
            if proc.poll() is not None:
                fail("moto_server exited at start-up")
            time.sleep(0.1)
    fail("moto_server did not start")


def clock(endpoint, seconds):
    req = urllib.request.Request(
        f"{endpoint}/_keytrail/clock",
        data=json.dumps({"advanceSeconds": seconds}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    return json.load(urllib.request.urlopen(req))["now"]


def control(endpoint, path):
    return json.load(urllib.request.urlopen(f"{endpoint}{path}"))


def aws(endpoint, *args, env_extra=None):
    env = dict(BASE_ENV, AWS_ENDPOINT_URL=endpoint, **(env_extra or {}))
    return subprocess.run(["aws", "--output", "json", *args], env=env, capture_output=True, text=True)


def client(service, endpoint, **config):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="keytrail-e2e",
        config=Config(**config) if config else None,
    )


def files_under(root):
    """Object key → bytes of every object under a bucket directory (hidden files left out)."""
    out = {}
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for n in names:
            if not n.startswith("."):
                path = os.path.join(dirpath, n)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return out


def event_ids_in(objects):
    ids = set()
    for key, body in objects.items():
        if "/CloudTrail/" in key:
            ids.update(r["eventID"] for r in json.loads(gzip.decompress(body))["Records"])
    return ids


def trail_event_ids(endpoint, since_name):
    """eventIDs of the records a trail of the default account in us-east-1 receives, from the
    trail's StartLogging on."""
    records = control(endpoint, f"/_keytrail/events?account={ACCOUNT}")["Records"]
    start = next(i for i, r in enumerate(records) if r["eventName"] == "StartLogging" and r["requestParameters"]["name"] == since_name)
    return {r["eventID"] for r in records[start:] if r["awsRegion"] == REGION}


def validate(endpoint, trail_arn, env_extra=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + datetime.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return aws(endpoint, "cloudtrail", "validate-logs", "--trail-arn", trail_arn, "--start-time", start, "--end-time", end, "--verbose", env_extra=env_extra)


def some_calls(endpoint, n=2):
    kms = client("kms", endpoint)
    for _ in range(n):
        key = kms.create_key(Description="e2e")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"trail bucket")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob)


def create_trail(endpoint, name, bucket, prefix=None):
    ct = client("cloudtrail", endpoint)
    args = dict(Name=name, S3BucketName=bucket, EnableLogFileValidation=True)
    if prefix:
        args["S3KeyPrefix"] = prefix
    arn = ct.create_trail(**args)["TrailARN"]
    ct.start_logging(Name=name)
    return arn


def part_one_bucket_and_validation(endpoint, data_dir):
    bucket_dir = os.path.join(data_dir, "s3", "audit-logs")
    arn = create_trail(endpoint, "audit", "audit-logs", prefix="team")
    some_calls(endpoint)
    clock(endpoint, 300)
    some_calls(endpoint)
    clock(endpoint, 3600)
    some_calls(endpoint, 1)
    clock(endpoint, 3600)
    on_disk = files_under(bucket_dir)
    digests = sorted(k for k in on_disk if "/CloudTrail-Digest/" in k)
    logs = sorted(k for k in on_disk if "/CloudTrail/" in k)
    check(len(digests) == 2 and len(logs) >= 3, f"the trail delivered log files and two digests ({len(logs)} logs)")

    out = aws(endpoint, "s3", "ls", "s3://audit-logs/team/AWSLogs/", "--recursive")
    listed = sorted(line.split()[-1] for line in out.stdout.splitlines())
    check(out.returncode == 0 and listed == sorted(on_disk), "aws s3 ls --recursive lists every delivered file")
    target = os.path.join(WORK, "copied.json.gz")
    out = aws(endpoint, "s3", "cp", f"s3://audit-logs/{logs[0]}", target)
    check(out.returncode == 0 and open(target, "rb").read() == on_disk[logs[0]], "aws s3 cp copies a log file byte for byte")
    synced = os.path.join(WORK, "synced")
    out = aws(endpoint, "s3", "sync", "s3://audit-logs/team", synced)
    got = {("team/" + k): v for k, v in files_under(synced).items()}
    check(out.returncode == 0 and got == on_disk, "aws s3 sync mirrors the bucket")
    out = aws(endpoint, "s3", "cp", target, "s3://audit-logs/team/forged.json.gz")
    check(out.returncode != 0 and "AccessDenied" in out.stderr, "aws s3 cp into the bucket is refused (AccessDenied)")

    s3 = client("s3", endpoint)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="audit-logs", Prefix="team/", PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    check(keys == sorted(on_disk), "boto3 list_objects_v2 pages through every key in order")
    top = s3.list_objects_v2(Bucket="audit-logs", Prefix=f"team/AWSLogs/{ACCOUNT}/", Delimiter="/")
    prefixes = [p["Prefix"] for p in top.get("CommonPrefixes", [])]
    check(prefixes == [f"team/AWSLogs/{ACCOUNT}/CloudTrail-Digest/", f"team/AWSLogs/{ACCOUNT}/CloudTrail/"], "a delimiter rolls keys up")
    body = s3.get_object(Bucket="audit-logs", Key=logs[0])["Body"].read()
    records = json.loads(gzip.decompress(body))["Records"]
    check(body == on_disk[logs[0]] and records, "boto3 get_object returns the log file")
    part = s3.get_object(Bucket="audit-logs", Key=logs[0], Range="bytes=0-1")["Body"].read()
    check(part == b"\x1f\x8b", "a Range reads part of an object")
    head = s3.head_object(Bucket="audit-logs", Key=digests[0])
    check(head["Metadata"].get("signature-algorithm") == "SHA256withRSA" and len(head["Metadata"].get("signature", "")) == 512, "a digest carries its signature in x-amz-meta-signature")
    try:
        s3.get_object(Bucket="audit-logs", Key="team/none")
        fail("a missing key was served")
    except ClientError as e:
        check(e.response["Error"]["Code"] == "NoSuchKey", "a missing key is NoSuchKey")

    # Virtual-host-style addressing (<bucket>.localhost), resolved here to keytrail's address.
    real_getaddrinfo = socket.getaddrinfo
    socket.getaddrinfo = lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host.endswith(".localhost") else host, *a, **k)
    try:
        vhost = client("s3", endpoint.replace("127.0.0.1", "localhost"), s3={"addressing_style": "virtual"})
        vkeys = [o["Key"] for o in vhost.list_objects_v2(Bucket="audit-logs", Prefix="team/")["Contents"]]
    finally:
        socket.getaddrinfo = real_getaddrinfo
    check(vkeys == sorted(on_disk), "virtual-host-style requests read the same bucket")

    out = validate(endpoint, arn)
    check(out.returncode == 0 and "2/2 digest files valid" in out.stdout and f"{len(logs)}/{len(logs)} log files valid" in out.stdout, "validate-logs finds an untouched trail valid")

    def tampered(path, change, expect, what):
        original = open(path, "rb").read()
        change(path, original)
        out = validate(endpoint, arn)
        name = os.path.relpath(path, os.path.join(data_dir, "s3"))
        reported = any(name in line and expect in line for line in out.stderr.splitlines())
        with open(path, "wb") as f:
            f.write(original)
        check(out.returncode == 1 and reported, f"validate-logs reports {what}, naming the file")

    def edit_gz(old, new):
        def change(path, original):
            text = gzip.decompress(original)
            if old not in text:
                fail(f"{old!r} not in {path}")
            with open(path, "wb") as f:
                f.write(gzip.compress(text.replace(old, new, 1)))
        return change

    log_path = os.path.join(bucket_dir, logs[0])
    tampered(log_path, edit_gz(b'"eventVersion":"1.11"', b'"eventVersion":"1.12"'), "INVALID: hash value doesn't match", "one changed byte in a log file")
    tampered(log_path, lambda p, _: os.remove(p), "INVALID: not found", "a deleted log file")
    first_digest = os.path.join(bucket_dir, digests[0])
    tampered(first_digest, edit_gz(f'"awsAccountId":"{ACCOUNT}"'.encode(), b'"awsAccountId":"111122223334"'), "INVALID: signature verification failed", "a changed digest")
    tampered(first_digest, lambda p, _: os.remove(p), "INVALID: not found", "a deleted digest")
    out = validate(endpoint, arn)
    check(out.returncode == 0, "restored, the trail validates again")
    return arn, bucket_dir


def part_two_kill_9(proc, endpoint, data_dir, arn, bucket_dir):
    # Records pending (not yet in a file) when keytrail is killed.
    some_calls(endpoint)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc, endpoint = start_keytrail(["--data-dir", data_dir], "keytrail")
    some_calls(endpoint, 1)
    clock(endpoint, 300)
    # Killed again right after a delivery, before anything else.
    some_calls(endpoint, 1)
    clock(endpoint, 300)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc, endpoint = start_keytrail(["--data-dir", data_dir], "keytrail")
    some_calls(endpoint, 1)
    clock(endpoint, 3600)
    on_disk = files_under(bucket_dir)
    wanted = trail_event_ids(endpoint, "audit")
    missing = wanted - event_ids_in(on_disk)
    check(not missing, f"after two kill -9, every record the trail received is in its log files ({len(wanted)} records)")
    digests = [k for k in on_disk if "/CloudTrail-Digest/" in k]
    out = validate(endpoint, arn)
    gap = "No log files were delivered" in out.stderr
    check(out.returncode == 0 and f"{len(digests)}/{len(digests)} digest files valid" in out.stdout and not gap,
          f"the digest chain is unbroken across the crashes ({len(digests)} digests)")
    proc.send_signal(signal.SIGTERM)
    proc.wait()


def part_three_remote_store():
    moto_port = free_port()
    store = f"http://127.0.0.1:{moto_port}"
    moto = start_moto(moto_port)
    client("s3", store).create_bucket(Bucket="remote-logs")
    data_dir = os.path.join(WORK, "remote-data")
    args = ["--data-dir", data_dir, "--s3-endpoint", store]
    proc, endpoint = start_keytrail(args, "keytrail-remote")
    arn = create_trail(endpoint, "remote", "remote-logs")
    ct = client("cloudtrail", endpoint)
    some_calls(endpoint)
    clock(endpoint, 300)
    clock(endpoint, 3600)

    def objects_in_store():
        s3 = client("s3", store)
        out = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="remote-logs"):
            for o in page.get("Contents", []):
                got = s3.get_object(Bucket="remote-logs", Key=o["Key"])
                out[o["Key"]] = (got["Body"].read(), got["Metadata"])
        return out

    def wait_for(condition, what, seconds=40):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.25)
        fail(f"timed out waiting until {what}")

    def outbox_waiting(ep):
        return control(ep, "/_keytrail/stats")["outbox"]["waiting"]

    wait_for(lambda: outbox_waiting(endpoint) == 0 and len(objects_in_store()) >= 2, "the store has the first files")
    first = objects_in_store()
    check(any("/CloudTrail-Digest/" in k for k in first) and any("/CloudTrail/" in k for k in first), "log files and a digest reach the S3 store")
    status = ct.get_trail_status(Name="remote")
    check("LatestDeliveryError" not in status and "LatestDeliveryTime" in status and "LatestDigestDeliveryTime" in status, "GetTrailStatus shows the deliveries")

    moto.terminate()
    moto.wait()
    some_calls(endpoint)
    clock(endpoint, 300)
    wait_for(lambda: "LatestDeliveryError" in ct.get_trail_status(Name="remote"), "GetTrailStatus shows the store is down")
    check(outbox_waiting(endpoint) >= 1, "with the store down, files wait in the outbox")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc, endpoint = start_keytrail(args, "keytrail-remote")
    ct = client("cloudtrail", endpoint)
    some_calls(endpoint, 1)
    clock(endpoint, 3600)
    moto = start_moto(moto_port)
    s3 = client("s3", store)
    s3.create_bucket(Bucket="remote-logs")
    wait_for(lambda: outbox_waiting(endpoint) == 0 and "LatestDeliveryError" not in ct.get_trail_status(Name="remote"), "the outbox empties into the store again")
    # The records of the waiting above go in one more file; only the control API is used after it.
    clock(endpoint, 300)
    wait_for(lambda: outbox_waiting(endpoint) == 0, "the last file reaches the store")
    # moto keeps its objects in memory: put back what its first run held, then check the whole.
    for key, (body, metadata) in first.items():
        s3.put_object(Bucket="remote-logs", Key=key, Body=body, Metadata=metadata)
    everything = {k: v[0] for k, v in objects_in_store().items()}
    wanted = trail_event_ids(endpoint, "remote")
    missing = wanted - event_ids_in(everything)
    check(not missing, f"the store stopped, keytrail killed: every record reached the store ({len(wanted)} records)")
    digests = [k for k in everything if "/CloudTrail-Digest/" in k]
    out = validate(endpoint, arn, env_extra={"AWS_ENDPOINT_URL_S3": store})
    check(out.returncode == 0 and f"{len(digests)}/{len(digests)} digest files valid" in out.stdout and "No log files were delivered" not in out.stderr,
          f"validate-logs reading the store finds the chain whole ({len(digests)} digests)")
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    moto.terminate()
    moto.wait()


def main():
    if not os.access(BIN, os.X_OK):
        print(f"keytrail binary not found at {BIN} (build it, or set KEYTRAIL_BIN)", file=sys.stderr)
        sys.exit(2)
    for tool in ("aws", "moto_server"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            sys.exit(2)
    started = time.time()
    data_dir = os.path.join(WORK, "data")
    proc, endpoint = start_keytrail(["--data-dir", data_dir], "keytrail")
    arn, bucket_dir = part_one_bucket_and_validation(endpoint, data_dir)
    part_two_kill_9(proc, endpoint, data_dir, arn, bucket_dir)
    part_three_remote_store()
    cleanup()
    print(f"PASS: trail bucket, validate-logs, kill -9 and remote store scenarios ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # any unexpected error still stops the children
        fail(f"unexpected {type(e).__name__}: {e}")
