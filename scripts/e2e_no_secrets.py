#!/usr/bin/env python3
"""No secret reaches a record, a log line, an error message or a file: every operation of the
botocore KMS model (all of them, served by keytrail or not) and of the CloudTrail model, through
boto3, with every member the model makes secret (at any depth; the same members
scripts/gen-sensitive removes from records) set to a unique marker.

Starts the built binary (KEYTRAIL_BIN, default target/debug/keytrail) with --verify-signatures
--strict-credentials, a --data-dir, --events-out and RUST_LOG=trace (stderr captured), a trail
logging every call, a role session whose session token is a marker and a control token that is
one too. Then searches every marker (raw, base64 at each alignment, hex) in: the records
(/_keytrail/events), the --events-out file, the trail's delivered log files (decompressed), the
server's log, every error message and response body, and every file of the data dir (raw, and the
database read through SQLite with its LZ4/deflate record chunks decompressed). Exits non-zero on
the first leak and always stops the server.

Needs boto3 and lz4 (python3 -m pip install boto3 lz4; .ci/run pins them).
"""

import base64
import binascii
import datetime
import gzip
import importlib.machinery
import importlib.util
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

import boto3
import botocore.session
import lz4.block
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "111122223333"
RUN = secrets.token_hex(4).upper()
USER_KEY, USER_SECRET = "AKIANOSECRETS0000001", "user-secret-key-for-the-no-secrets-run"
SESSION_KEY, SESSION_SECRET = "ASIANOSECRETS0000001", "session-secret-key-for-the-no-secrets-run"
SESSION_TOKEN = f"KTMARK{RUN}SESSIONTOKEN0001"
CONTROL_TOKEN = f"KTMARK{RUN}CONTROLTOKEN0001"
ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*","cloudtrail:*"],"Resource":"*"}]}'


def fail(message):
    raise AssertionError(message)


def load_generator():
    """scripts/gen-sensitive, whose notion of a secret member this test checks."""
    path = os.path.join(ROOT, "scripts", "gen-sensitive")
    loader = importlib.machinery.SourceFileLoader("gen_sensitive", path)
    spec = importlib.util.spec_from_loader("gen_sensitive", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Markers:
    """Unique secret values (as bytes), and what each stands for."""

    def __init__(self):
        self.all = {SESSION_TOKEN.encode(): "the role session's token", CONTROL_TOKEN.encode(): "the control token"}
        self.count = 0

    def new(self, where, min_len=0):
        """A fresh marker of at least `min_len` characters, standing for `where`."""
        self.count += 1
        text = f"KTMARK{RUN}{self.count:04d}X"
        text += "Q" * max(0, min_len - len(text))
        self.all[text.encode()] = where
        return text

    def add(self, where, data):
        """Bytes that are a secret too (a ciphertext)."""
        self.all[bytes(data)] = where

    @staticmethod
    def forms(data):
        """The text forms a leak of `data` could take: itself, base64 (standard and URL-safe, at
        each byte alignment: the characters that depend on it alone), hex."""
        out = {data.hex(), data.hex().upper()}
        try:
            out.add(data.decode())
        except UnicodeDecodeError:
            out.add(data.decode("latin-1"))
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            for offset in range(3):
                encoded = encode(b"\0" * offset + data).decode().rstrip("=")
                start = -(-offset * 8 // 6)
                core = encoded[start : len(encoded) - 4]
                if len(core) > 8:
                    out.add(core)
        return out

    def leaks(self, text):
        return [(m, where, form) for m, where in self.all.items() for form in self.forms(m) if form in text]

    def check(self, place, text):
        found = self.leaks(text)
        if found:
            marker, where, form = found[0]
            at = text.find(form)
            fail(f"{where} (marker {marker!r}) appears as {form!r} in {place}: …{text[max(0, at - 200) : at + 200]}…")


class Values:
    """Request members valid enough to get past validation, from the model's shapes."""

    def __init__(self, service, model, generator, markers):
        self.service = service
        self.shapes = model["shapes"]
        self.gen = generator.Generator(service, model)
        self.markers = markers
        self.fixtures = {}

    def secret(self, name, shape_name, where):
        shape = self.shapes[shape_name]
        if shape["type"] == "list":
            return [self.secret(name, shape["member"]["shape"], where)]
        if shape["type"] == "structure":
            return {m: self.secret(m, s["shape"], f"{where}.{m}") for m, s in shape["members"].items() if s["shape"] != shape_name}
        if shape["type"] == "blob":
            return self.markers.new(where, shape.get("min", 0)).encode()
        if shape["type"] == "string":
            if "enum" in shape:
                return shape["enum"][0]
            return self.markers.new(where, shape.get("min", 0))
        return self.ordinary(name, shape_name, where, 0)

    def structure(self, shape_name, where, depth):
        shape = self.shapes[shape_name]
        required = set(shape.get("required", []))
        out = {}
        for name, member in shape.get("members", {}).items():
            target = member["shape"]
            path = f"{where}.{name}"
            if self.gen.is_secret(member, target):
                out[name] = self.secret(name, target, path)
            elif name in required or self.holds_secret(target, set()):
                out[name] = self.ordinary(name, target, path, depth + 1)
        return out

    def holds_secret(self, shape_name, seen):
        if shape_name in seen:
            return False
        seen.add(shape_name)
        shape = self.shapes[shape_name]
        if shape["type"] == "list":
            return self.holds_secret(shape["member"]["shape"], seen)
        for member in shape.get("members", {}).values():
            if self.gen.is_secret(member, member["shape"]) or self.holds_secret(member["shape"], seen):
                return True
        return False

    def ordinary(self, name, shape_name, where, depth):
        if name in self.fixtures:
            return self.fixtures[name]
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return self.structure(shape_name, where, depth) if depth < 6 else {}
        if kind == "list":
            return [self.ordinary(name, shape["member"]["shape"], where, depth + 1)]
        if kind == "map":
            return {"Key": "value"}
        if kind == "string":
            if "enum" in shape:
                return shape["enum"][0]
            return "v" * max(1, shape.get("min", 1))
        if kind == "blob":
            return b"b" * max(1, shape.get("min", 1))
        if kind in ("integer", "long"):
            return max(1, shape.get("min", 1))
        if kind == "boolean":
            return False
        if kind == "timestamp":
            return datetime.datetime.now(datetime.timezone.utc)
        if kind in ("double", "float"):
            return 1.0
        fail(f"no value for {where} ({kind})")


def start(binary, work, config):
    log = open(os.path.join(work, "keytrail.log"), "wb")
    env = dict(os.environ, RUST_LOG="trace", NO_COLOR="1")
    argv = [binary, "--listen", "127.0.0.1:0", "--config", config, "--data-dir", os.path.join(work, "data"),
            "--events-out", os.path.join(work, "events.jsonl"), "--verify-signatures", "--strict-credentials"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        text = re.sub(r"\x1b\[[0-9;]*m", "", open(log.name, errors="replace").read())
        m = re.search(r"keytrail listening on ([0-9.]+:[0-9]+)", text)
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            fail(f"keytrail exited with {proc.returncode}: {text}")
        time.sleep(0.05)
    proc.kill()
    fail("keytrail did not report its address")


def control(addr, method, path, body=None):
    req = urllib.request.Request(f"http://{addr}{path}", method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {CONTROL_TOKEN}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read().decode()


def client(service, addr, key, secret, token=None):
    return boto3.client(
        service, endpoint_url=f"http://{addr}", region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=token, config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=True),
    )


def call_every_operation(service, api, model, generator, markers, fixtures, errors):
    """Each operation once, with its secrets set to markers; returns the names called. Error
    answers go to `errors` (a successful answer may carry the caller's own secrets back: Decrypt's
    plaintext is the point of Decrypt)."""
    values = Values(service, model, generator, markers)
    names = {v: k for k, v in api.meta.method_to_api_mapping.items()}
    called = []
    for op_name in sorted(model["operations"]):
        op = model["operations"][op_name]
        values.fixtures = fixtures(service)
        params = values.structure(op["input"]["shape"], op_name, 0) if "input" in op else {}
        method = getattr(api, names[op_name])
        try:
            method(**params)
        except ClientError as e:
            errors.append(str(e))
            errors.append(json.dumps(e.response, default=str))
        except ParamValidationError as e:
            fail(f"{service} {op_name}: the test built parameters botocore refuses: {e}")
        called.append(op_name)
    return called


def kms_fixtures(kms):
    """Real resources the ordinary members name: a key per call (so no call spoils another's)."""
    grant_key = kms.create_key(Description="for grants")["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=grant_key, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root", Operations=["Decrypt"])
    counter = iter(range(10_000))

    def fixtures(_service):
        key = kms.create_key(Description="no-secrets")["KeyMetadata"]["KeyId"]
        return {
            "KeyId": key, "TargetKeyId": key, "DestinationKeyId": key, "SourceKeyId": key,
            "AliasName": f"alias/no-secrets-{next(counter)}", "GrantId": grant["GrantId"],
            "GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:root", "RetiringPrincipal": f"arn:aws:iam::{ACCOUNT}:root",
            "Policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"kms:*","Resource":"*"}]}' % ACCOUNT,
            "PendingWindowInDays": 7, "RotationPeriodInDays": 90, "NumberOfBytes": 32, "Limit": 5,
            "ReplicaRegion": "us-west-2", "PrimaryRegion": "us-west-2", "CustomKeyStoreId": "cks-1234567890abcdef0",
        }

    return fixtures


def cloudtrail_fixtures(_service):
    n = secrets.token_hex(3)
    # `TrailName` names a trail that does not exist: PutEventSelectors must not touch "audit".
    return {"Name": f"t-{n}", "TrailName": "not-the-audit-trail", "S3BucketName": "logs", "MaxResults": 5}


def scan_data_dir(data_dir, markers):
    """Every file raw, then the database as SQLite reads it, record chunks decompressed."""
    for dirpath, _, files in os.walk(data_dir):
        for name in files:
            path = os.path.join(dirpath, name)
            raw = open(path, "rb").read()
            markers.check(f"the data dir file {path} (raw)", raw.decode("latin-1"))
            if name.endswith(".gz"):
                markers.check(f"the log file {path}", gzip.decompress(raw).decode())
    db = sqlite3.connect(os.path.join(data_dir, "keytrail.db"))
    chunks = 0
    for first_seq, body, codec in db.execute("SELECT first_seq, body, codec FROM event_chunks"):
        text = lz4.block.decompress(body) if codec == 1 else zlib.decompress(body, -15)
        markers.check(f"record chunk {first_seq} of the database", text.decode())
        chunks += 1
    for kind, ident, body in db.execute("SELECT kind, id, body FROM state"):
        markers.check(f"the database's {kind} {ident}", bytes(body).decode("latin-1"))
    for (inline,) in db.execute("SELECT json FROM events"):
        markers.check("an inline record of the database", inline)
    db.close()
    if chunks == 0:
        fail("the database holds no record chunk: the scan would see nothing")


def main():
    binary = os.environ.get("KEYTRAIL_BIN") or os.path.join(ROOT, "target", "debug", "keytrail")
    generator = load_generator()
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    models = {s: loader.load_service_model(s, "service-2") for s in ("kms", "cloudtrail")}
    markers = Markers()
    # The check finds a marker where there is one, in each form.
    probe = markers.new("the probe")
    for form in (probe, base64.b64encode(b"ab" + probe.encode() + b"cd").decode(), probe.encode().hex()):
        if not markers.leaks(f'{{"x":"{form}"}}'):
            fail(f"the scan misses {form}")
    del markers.all[probe.encode()]

    work = tempfile.mkdtemp(prefix="keytrail-no-secrets-")
    config = os.path.join(work, "keytrail.toml")
    with open(config, "w") as f:
        f.write(f'control_token = "{CONTROL_TOKEN}"\n\n')
        f.write(f'[[users]]\naccount = "{ACCOUNT}"\nname = "tester"\naccess_key_id = "{USER_KEY}"\nsecret_access_key = "{USER_SECRET}"\n')
        f.write(f"policies = ['''{ALLOW_ALL}''']\n\n")
        f.write(f'[[roles]]\naccount = "{ACCOUNT}"\nname = "runner"\npolicies = [\'\'\'{ALLOW_ALL}\'\'\']\n')
        f.write(f'sessions = [{{ name = "ci", access_key_id = "{SESSION_KEY}", secret_access_key = "{SESSION_SECRET}", session_token = "{SESSION_TOKEN}" }}]\n')
    proc, addr = start(binary, work, config)
    errors = []
    try:
        kms = client("kms", addr, USER_KEY, USER_SECRET)
        trails = client("cloudtrail", addr, USER_KEY, USER_SECRET)
        trails.create_trail(Name="audit", S3BucketName="logs")
        trails.start_logging(Name="audit")
        # The session (its token a marker) makes calls too, secrets among them.
        as_session = client("kms", addr, SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
        key = as_session.create_key(Description="session key")["KeyMetadata"]["KeyId"]
        secret_text = markers.new("a plaintext encrypted by the session").encode()
        blob = as_session.encrypt(KeyId=key, Plaintext=secret_text)["CiphertextBlob"]
        if as_session.decrypt(CiphertextBlob=blob)["Plaintext"] != secret_text:
            fail("the session's plaintext did not come back")
        kms_called = call_every_operation("kms", kms, models["kms"], generator, markers, kms_fixtures(kms), errors)
        ct_called = call_every_operation("cloudtrail", trails, models["cloudtrail"], generator, markers, cloudtrail_fixtures, errors)
        # A plaintext that goes through the real Encrypt and comes back from Decrypt.
        marked = markers.new("Encrypt.Plaintext (round trip)").encode()
        ct = kms.encrypt(KeyId=key, Plaintext=marked)["CiphertextBlob"]
        markers.add("a ciphertext", ct)
        if kms.decrypt(CiphertextBlob=ct)["Plaintext"] != marked:
            fail("the round trip plaintext did not come back")
        # A refused control request logs at DEBUG: proof that the log shows what RUST_LOG=trace lets through.
        refused = urllib.request.Request(f"http://{addr}/_keytrail/events", headers={"Origin": "http://elsewhere.example"})
        try:
            urllib.request.urlopen(refused, timeout=10)
            fail("a cross-origin control request was answered")
        except urllib.error.HTTPError as e:
            if e.code != 403:
                fail(f"a cross-origin control request got {e.code}")
        records = control(addr, "GET", "/_keytrail/events")
        control(addr, "POST", "/_keytrail/clock", {"advanceSeconds": 600})
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("keytrail did not stop on SIGTERM")
    if proc.returncode != 0:
        fail(f"keytrail exited with {proc.returncode}")

    names = [r["eventName"] for r in json.loads(records)["Records"]]
    missing = [op for op in kms_called if op not in names]
    if missing:
        fail(f"KMS operations without a record: {missing}")
    if len(kms_called) != len(models["kms"]["operations"]) or len(ct_called) != len(models["cloudtrail"]["operations"]):
        fail("not every operation of the models was called")
    retire = [r for r in json.loads(records)["Records"] if r["eventName"] == "RetireGrant"]
    if not retire or any(r["requestParameters"] is not None for r in retire):
        fail(f"RetireGrant records requestParameters null: {retire}")
    secret_members = markers.count
    markers.check("the records (/_keytrail/events)", records)
    markers.check("the --events-out file", open(os.path.join(work, "events.jsonl")).read())
    if len(errors) < 40:
        fail(f"only {len(errors) // 2} calls failed: the error messages checked would be few")
    markers.check("the error messages", "\n".join(errors))
    log = open(os.path.join(work, "keytrail.log"), errors="replace").read()
    if not re.search(r"DEBUG .*control request refused", log):
        fail("the server's log has no DEBUG line: RUST_LOG=trace did not take")
    markers.check("the server's log (RUST_LOG=trace)", log)
    delivered = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(work, "data", "s3")) for f in fs if f.endswith(".json.gz")]
    if not delivered:
        fail("the trail delivered no log file")
    scan_data_dir(os.path.join(work, "data"), markers)
    print(f"no secrets: {len(kms_called)} KMS and {len(ct_called)} CloudTrail operations, {secret_members} secret values, "
          f"{len(names)} records, {len(delivered)} log files; no marker in records, --events-out, log files, the log, "
          f"error messages or the data dir")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
