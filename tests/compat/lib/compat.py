"""What the compatibility scenarios share: the keytrail they run against and its records.

Each scenario gets KEYTRAIL_ENDPOINT (a keytrail of its own, started by tests/compat/run with the
folder's keytrail.toml if it has one) and asserts what its client did and the records it left.
"""

import json
import os
import sys
import urllib.request

ENDPOINT = os.environ["KEYTRAIL_ENDPOINT"]
NAME = os.path.basename(os.path.dirname(os.path.abspath(sys.argv[0])))


def say(message):
    print(f"compat/{NAME}: {message}", flush=True)


def fail(message):
    raise AssertionError(f"compat/{NAME}: {message}")


def expect(condition, message):
    if not condition:
        fail(message)


def records(event_name=None):
    """Every record so far (optionally of one eventName), oldest first."""
    query = f"?eventName={event_name}" if event_name else ""
    with urllib.request.urlopen(f"{ENDPOINT}/_keytrail/events{query}") as r:
        return json.load(r)["Records"]


def names():
    return [r["eventName"] for r in records()]


def reset():
    req = urllib.request.Request(f"{ENDPOINT}/_keytrail/reset", method="POST", data=b"{}", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        r.read()
