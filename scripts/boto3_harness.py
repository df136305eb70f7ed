"""What the boto3 scenarios (scripts/e2e_boto3_*.py) share: starting the built keytrail on a free
port, pointing boto3 at it, expecting AWS errors, and checking that secrets appear nowhere.

Not a scenario itself: scripts/test runs scripts/e2e_*.py, which import this.
"""

import base64
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

from botocore.exceptions import ClientError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(message):
    raise AssertionError(message)


def expect_error(code, call, **kwargs):
    """Calls `call(**kwargs)`, which must fail with `code`; returns the request id."""
    try:
        call(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            fail(f"expected {code}, got {got}: {e}")
        return e.response["ResponseMetadata"]["RequestId"]
    fail(f"expected {code} from {call.__name__}")


def start(binary, work, *extra, log_name="keytrail.log"):
    """Starts keytrail on port 0 with RUST_LOG=trace, its log in `work`; returns (process, addr)."""
    log = open(os.path.join(work, log_name), "wb")
    env = dict(os.environ, RUST_LOG="trace", NO_COLOR="1")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *extra], stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.time() + 10
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


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def point_boto3_at(addr):
    """Environment for boto3: keytrail's endpoint, dummy credentials, no profile or config file."""
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{addr}",
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="dummy-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(var, None)


def assert_secrets_absent(secrets, places):
    """No secret (raw, base64, URL-safe base64, hex) in any of `places` ({name: bytes})."""
    for what, secret in secrets.items():
        forms = [secret, base64.b64encode(secret), base64.urlsafe_b64encode(secret), secret.hex().encode(), secret.hex().upper().encode()]
        for place, text in places.items():
            for form in forms:
                assert form not in text, f"{what} appears in the {place}"


def run(name, body):
    """Runs `body(binary, work)` in a temp dir with the built binary; returns the exit code."""
    binary = os.environ.get("KEYTRAIL_BIN", os.path.join(ROOT, "target", "debug", "keytrail"))
    if not os.access(binary, os.X_OK):
        print(f"{name}: {binary} not found; build it or set KEYTRAIL_BIN", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        try:
            print(f"{name}: {body(binary, work)}")
            return 0
        except Exception as e:
            traceback.print_exc()
            print(f"{name}: FAIL: {e}", file=sys.stderr)
            return 1
