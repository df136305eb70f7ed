#!/usr/bin/env bash
# End-to-end scenario through the AWS CLI: `aws cloudtrail lookup-events` finds a Decrypt by
# event name and by key ARN; `aws cloudtrail put-event-selectors` excluding kms.amazonaws.com
# stops KMS records reaching that trail's log files, and is itself recorded; a user without
# cloudtrail:StopLogging cannot stop the trail, and its attempt is recorded.
#
# Usage: scripts/e2e-cli-cloudtrail.sh   (after `cargo build`; KEYTRAIL_BIN names another binary)
# Needs: the AWS CLI (v1 or v2) and python3. Exits non-zero on the first failed check.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${KEYTRAIL_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/keytrail}
[ -x "$bin" ] || { echo "keytrail binary not found at $bin (build it, or set KEYTRAIL_BIN)" >&2; exit 2; }
command -v aws >/dev/null || { echo "the AWS CLI is not installed" >&2; exit 2; }

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; echo "--- server log ---" >&2; cat "$work/server.log" >&2 || true; exit 1; }
pass() { echo "ok: $*"; }

# One IAM user whose policies allow KMS only: CloudTrail's own API refuses it.
cat > "$work/config.toml" <<'TOML'
[[users]]
account = "111122223333"
name = "intruder"
access_key_id = "AKIAINTRUDER00000001"
secret_access_key = "intruder-secret"
policies = ['''{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}''']
TOML

# Start on a free port (port 0) and read the chosen address from the log.
NO_COLOR=1 "$bin" --listen 127.0.0.1:0 --trail-dir "$work/s3" --config "$work/config.toml" 2>"$work/server.log" &
server_pid=$!
addr=""
for _ in $(seq 1 100); do
    addr=$(sed -n 's/^keytrail listening on \([0-9.:]*\).*/\1/p' "$work/server.log" | head -n 1)
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "keytrail exited at start-up"
    sleep 0.1
done
[ -n "$addr" ] || fail "keytrail did not say where it listens"
endpoint="http://$addr"
echo "keytrail at $endpoint, trail files under $work/s3"

# A fixed identity and region, and nothing from the user's own AWS configuration.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=keytrail-e2e AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KMS AWS_ENDPOINT_URL_CLOUDTRAIL
awsk() { aws --endpoint-url "$endpoint" --output json "$@"; }

# `check NAME PYTHON < json`: runs PYTHON with the parsed stdin as `d`; it must not fail.
check() {
    local name=$1 code=$2
    python3 -c "import json,sys
d=json.load(sys.stdin)
$code" || fail "$name"
    pass "$name"
}

control_clock() {
    python3 - "$endpoint" "$1" <<'EOF' || fail "advance the mock clock"
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/_keytrail/clock", data=json.dumps({"advanceSeconds": int(sys.argv[2])}).encode(), method="POST",
                             headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["now"])
EOF
}

# A logging trail first, so the KMS calls below reach its log files.
awsk cloudtrail create-trail --name cli-trail --s3-bucket-name cli-bucket --s3-key-prefix e2e > "$work/trail.json"
check "create-trail returns the trail" 'assert d["TrailARN"].endswith(":trail/cli-trail") and d["S3KeyPrefix"] == "e2e", d' < "$work/trail.json"
awsk cloudtrail start-logging --name cli-trail >/dev/null

# A key, an Encrypt and a Decrypt (awscli v1 takes blob arguments as raw bytes: fileb://).
key_arn=$(awsk kms create-key --description "cli e2e" --query KeyMetadata.Arn --output text)
printf 'secret message' > "$work/plain.txt"
awsk kms encrypt --key-id "$key_arn" --plaintext "fileb://$work/plain.txt" --query CiphertextBlob --output text \
    | python3 -c 'import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.stdin.read()))' > "$work/cipher.bin"
awsk kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" > "$work/decrypt.json"
check "decrypt names the key" "assert d['KeyId'] == '$key_arn', d" < "$work/decrypt.json"

awsk cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=Decrypt > "$work/by-name.json"
check "lookup-events finds the Decrypt by event name" "
events = d['Events']
assert len(events) == 1, events
e = events[0]
assert e['EventName'] == 'Decrypt' and e['EventSource'] == 'kms.amazonaws.com', e
assert e['ReadOnly'] == 'true' and e['AccessKeyId'] == 'AKIAIOSFODNN7EXAMPLE' and e['Username'] == 'root', e
assert e['Resources'] == [{'ResourceType': 'AWS::KMS::Key', 'ResourceName': '$key_arn'}], e['Resources']
r = json.loads(e['CloudTrailEvent'])
assert r['eventID'] == e['EventId'] and r['eventName'] == 'Decrypt' and r['readOnly'] is True, r
assert r['resources'][0]['ARN'] == '$key_arn' and 'plaintext' not in json.dumps(r).lower(), r
" < "$work/by-name.json"

awsk cloudtrail lookup-events --lookup-attributes "AttributeKey=ResourceName,AttributeValue=$key_arn" > "$work/by-arn.json"
check "lookup-events finds the Decrypt by key ARN, newest first" "
names = [e['EventName'] for e in d['Events']]
assert names == ['Decrypt', 'Encrypt', 'CreateKey'], names
" < "$work/by-arn.json"

decrypt_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Events"][0]["EventId"])' < "$work/by-name.json")

# Exclude KMS from the trail; the call itself is a CloudTrail management event.
awsk cloudtrail put-event-selectors --trail-name cli-trail \
    --event-selectors '[{"ReadWriteType":"All","IncludeManagementEvents":true,"ExcludeManagementEventSources":["kms.amazonaws.com"]}]' \
    > "$work/put.json"
check "put-event-selectors echoes the exclusion" 'assert d["EventSelectors"][0]["ExcludeManagementEventSources"] == ["kms.amazonaws.com"], d' < "$work/put.json"
awsk cloudtrail get-event-selectors --trail-name cli-trail > "$work/get.json"
check "get-event-selectors shows it" 'assert d["EventSelectors"][0]["ExcludeManagementEventSources"] == ["kms.amazonaws.com"], d' < "$work/get.json"

# KMS calls while excluded: in event history, never in the trail's files.
awsk kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" >/dev/null
awsk kms list-keys >/dev/null
awsk cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=PutEventSelectors > "$work/put-lookup.json"
check "put-event-selectors is itself recorded" "
e = d['Events'][0]
assert e['EventSource'] == 'cloudtrail.amazonaws.com' and e['ReadOnly'] == 'false', e
r = json.loads(e['CloudTrailEvent'])
assert r['requestParameters']['eventSelectors'][0]['excludeManagementEventSources'] == ['kms.amazonaws.com'], r
" < "$work/put-lookup.json"
awsk cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=Decrypt > "$work/history.json"
check "event history still has every Decrypt" 'assert len(d["Events"]) == 2, d' < "$work/history.json"

# A principal allowed KMS only cannot silence the trail: AccessDeniedException, nothing changes,
# and the refusal is in event history.
if AWS_ACCESS_KEY_ID=AKIAINTRUDER00000001 AWS_SECRET_ACCESS_KEY=intruder-secret \
    awsk cloudtrail stop-logging --name cli-trail > /dev/null 2> "$work/denied.txt"; then
    fail "stop-logging by a principal without cloudtrail:StopLogging succeeded"
fi
grep -q "AccessDeniedException" "$work/denied.txt" \
    && grep -q "user/intruder is not authorized to perform: cloudtrail:StopLogging on resource: arn:aws:cloudtrail:us-east-1:111122223333:trail/cli-trail" "$work/denied.txt" \
    || { cat "$work/denied.txt" >&2; fail "stop-logging is refused with AWS's AccessDenied message"; }
pass "stop-logging without cloudtrail:StopLogging is refused"
awsk cloudtrail get-trail-status --name cli-trail > "$work/status.json"
check "the trail still logs" 'assert d["IsLogging"] is True, d' < "$work/status.json"
awsk cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=StopLogging > "$work/denied.json"
check "the refused stop-logging is recorded" "
r = json.loads(d['Events'][0]['CloudTrailEvent'])
assert r['errorCode'] == 'AccessDeniedException' and r['userIdentity']['userName'] == 'intruder', r
assert r['resources'][0]['ARN'] == 'arn:aws:cloudtrail:us-east-1:111122223333:trail/cli-trail', r
" < "$work/denied.json"

# Five minutes of mock time deliver the log file; then stop (which flushes the rest).
control_clock 300 >/dev/null
kill -TERM "$server_pid"
wait "$server_pid" || fail "keytrail did not exit cleanly on SIGTERM"
server_pid=""

python3 - "$work/s3" "$decrypt_id" <<'EOF' || fail "the trail's log files"
import gzip, json, os, re, sys
root, decrypt_id = sys.argv[1], sys.argv[2]
files = []
for dirpath, _, names in os.walk(root):
    for n in names:
        files.append(os.path.join(dirpath, n))
assert files, "no log files"
pattern = re.compile(r"cli-bucket/e2e/AWSLogs/111122223333/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/"
                     r"111122223333_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$")
records = []
for f in sorted(files):
    rel = os.path.relpath(f, root)
    assert pattern.match(rel), rel
    with gzip.open(f) as fh:
        records += json.load(fh)["Records"]
names = [(r["eventSource"].split(".")[0], r["eventName"]) for r in records]
put = names.index(("cloudtrail", "PutEventSelectors"))
before, after = names[:put], names[put + 1:]
assert ("kms", "Decrypt") in before and ("kms", "Encrypt") in before and ("kms", "CreateKey") in before, names
assert not any(src == "kms" for src, _ in after), names
assert any(r["eventID"] == decrypt_id for r in records), "the Decrypt from event history is in the files"
print("ok: log files hold KMS records before the exclusion, none after, and the PutEventSelectors record")
EOF

echo "PASS: 1 scenario, all checks passed"
