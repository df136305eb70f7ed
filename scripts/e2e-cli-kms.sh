#!/usr/bin/env bash
# End-to-end KMS scenario through the AWS CLI against a fresh keytrail.
#
# Starts the built binary (KEYTRAIL_BIN, default target/debug/keytrail) on a free port with
# RUST_LOG=trace and --events-out, points the CLI at it with AWS_ENDPOINT_URL and dummy
# credentials, runs create/alias/encrypt/decrypt/data key/disable/rotate/schedule-deletion/cancel,
# checks every output, then checks the records from GET /_keytrail/events (eventName sequence,
# requestParameters, errors) and that no plaintext, data key or ciphertext appears in the
# records, the --events-out file or the server's log. Exits non-zero on the first failure and
# always stops the server.
#
# Works with awscli v1 and v2. Blob arguments are passed with fileb:// (awscli v1 takes a blob
# given as text as raw bytes, v2 as base64; fileb:// means the file's bytes in both).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${KEYTRAIL_BIN:-target/debug/keytrail}
[[ -x "$BIN" ]] || { echo "e2e-cli-kms: $BIN not found; build it or set KEYTRAIL_BIN" >&2; exit 2; }
command -v aws >/dev/null || { echo "e2e-cli-kms: the aws CLI is not installed" >&2; exit 2; }

WORK=$(mktemp -d)
PID=""
cleanup() {
    if [[ -n "$PID" ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "e2e-cli-kms: FAIL: $*" >&2
    if [[ -s "$WORK/keytrail.log" ]]; then
        echo "--- keytrail log (last 20 lines) ---" >&2
        tail -n 20 "$WORK/keytrail.log" >&2
    fi
    exit 1
}
step() { echo "e2e-cli-kms: $*"; }

NO_COLOR=1 RUST_LOG=trace "$BIN" --listen 127.0.0.1:0 --events-out "$WORK/events.jsonl" 2>"$WORK/keytrail.log" &
PID=$!
ADDR=""
for _ in $(seq 1 100); do
    ADDR=$(sed -n 's/^keytrail listening on \([0-9.:]*\).*/\1/p' "$WORK/keytrail.log" | head -n 1 || true)
    [[ -n "$ADDR" ]] && break
    kill -0 "$PID" 2>/dev/null || fail "keytrail exited before listening"
    sleep 0.1
done
[[ -n "$ADDR" ]] || fail "keytrail did not report its address"
step "keytrail on $ADDR"

export AWS_ENDPOINT_URL="http://$ADDR"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=dummy-secret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" AWS_MAX_ATTEMPTS=1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION || true

kms() { aws kms "$@" --output json; }
# Runs a command that must fail with the given error code.
expect_error() {
    local code=$1
    shift
    if "$@" >"$WORK/out" 2>"$WORK/err"; then
        fail "expected $code from: $*"
    fi
    grep -q "($code)" "$WORK/err" || fail "expected $code from: $*; got: $(cat "$WORK/err")"
}
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v,list) else v[k]
print(v if not isinstance(v,bool) else str(v).lower())' "$1"; }
b64decode() { python3 -c 'import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.stdin.read()))'; }

PLAINTEXT="cli scenario plaintext $(date +%s%N) never to be logged"
printf '%s' "$PLAINTEXT" >"$WORK/plain.txt"

step "create-key"
kms create-key --description "cli scenario" --tags TagKey=suite,TagValue=e2e >"$WORK/key.json"
KEY_ID=$(field KeyMetadata.KeyId <"$WORK/key.json")
KEY_ARN=$(field KeyMetadata.Arn <"$WORK/key.json")
[[ "$KEY_ARN" == "arn:aws:kms:us-east-1:111122223333:key/$KEY_ID" ]] || fail "unexpected ARN $KEY_ARN"
[[ $(field KeyMetadata.KeyState <"$WORK/key.json") == Enabled ]] || fail "new key not Enabled"

step "create-alias / list-aliases / describe-key by alias"
kms create-alias --alias-name alias/cli-scenario --target-key-id "$KEY_ID" >/dev/null
kms list-aliases --key-id "$KEY_ID" >"$WORK/aliases.json"
[[ $(field Aliases.0.AliasName <"$WORK/aliases.json") == alias/cli-scenario ]] || fail "alias not listed"
[[ $(kms describe-key --key-id alias/cli-scenario | field KeyMetadata.Arn) == "$KEY_ARN" ]] || fail "alias does not resolve"

step "encrypt / decrypt with an encryption context"
kms encrypt --key-id alias/cli-scenario --plaintext "fileb://$WORK/plain.txt" \
    --encryption-context purpose=e2e,suite=cli >"$WORK/enc.json"
[[ $(field KeyId <"$WORK/enc.json") == "$KEY_ARN" ]] || fail "encrypt answered another key"
field CiphertextBlob <"$WORK/enc.json" >"$WORK/ct.b64"
b64decode <"$WORK/ct.b64" >"$WORK/ct.bin"
kms decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context purpose=e2e,suite=cli >"$WORK/dec.json"
[[ $(field Plaintext <"$WORK/dec.json" | b64decode) == "$PLAINTEXT" ]] || fail "decrypt did not give the plaintext back"
[[ $(field KeyId <"$WORK/dec.json") == "$KEY_ARN" ]] || fail "decrypt without KeyId did not name the key"
expect_error InvalidCiphertextException kms decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context purpose=other,suite=cli
expect_error InvalidCiphertextException kms decrypt --ciphertext-blob "fileb://$WORK/plain.txt"

step "generate-data-key"
kms generate-data-key --key-id "$KEY_ARN" --key-spec AES_256 >"$WORK/dk.json"
field Plaintext <"$WORK/dk.json" >"$WORK/dk.b64"
field CiphertextBlob <"$WORK/dk.json" | b64decode >"$WORK/dk.bin"
[[ $(kms decrypt --ciphertext-blob "fileb://$WORK/dk.bin" | field Plaintext) == "$(cat "$WORK/dk.b64")" ]] || fail "data key does not decrypt to itself"

step "disable-key / enable-key"
kms disable-key --key-id "$KEY_ID" >/dev/null
expect_error DisabledException kms encrypt --key-id "$KEY_ID" --plaintext "fileb://$WORK/plain.txt"
kms enable-key --key-id "$KEY_ID" >/dev/null

step "rotation"
kms enable-key-rotation --key-id "$KEY_ID" --rotation-period-in-days 180 >/dev/null
kms get-key-rotation-status --key-id "$KEY_ID" >"$WORK/rot.json"
[[ $(field KeyRotationEnabled <"$WORK/rot.json") == true ]] || fail "rotation not enabled"
[[ $(field RotationPeriodInDays <"$WORK/rot.json") == 180 ]] || fail "rotation period not 180"
[[ $(kms rotate-key-on-demand --key-id "$KEY_ID" | field KeyId) == "$KEY_ID" ]] || fail "rotate-key-on-demand"
[[ $(kms list-key-rotations --key-id "$KEY_ID" | field Rotations.0.RotationType) == ON_DEMAND ]] || fail "rotation not listed"
kms decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context purpose=e2e,suite=cli >"$WORK/dec2.json"
[[ $(field Plaintext <"$WORK/dec2.json" | b64decode) == "$PLAINTEXT" ]] || fail "old ciphertext no longer decrypts after rotation"

step "schedule-key-deletion / cancel-key-deletion"
kms schedule-key-deletion --key-id "$KEY_ID" --pending-window-in-days 7 >"$WORK/del.json"
[[ $(field KeyState <"$WORK/del.json") == PendingDeletion ]] || fail "not pending deletion"
expect_error KMSInvalidStateException kms decrypt --ciphertext-blob "fileb://$WORK/ct.bin" --encryption-context purpose=e2e,suite=cli
kms cancel-key-deletion --key-id "$KEY_ID" >/dev/null
[[ $(kms describe-key --key-id "$KEY_ID" | field KeyMetadata.KeyState) == Disabled ]] || fail "cancelled key not Disabled"

step "records"
curl -fsS "http://$ADDR/_keytrail/events" >"$WORK/records.json" || fail "GET /_keytrail/events"
python3 - "$WORK" "$KEY_ID" "$KEY_ARN" "$PLAINTEXT" <<'PY' || fail "records check"
import base64, json, sys
work, key_id, key_arn, plaintext = sys.argv[1:5]
records = json.load(open(f"{work}/records.json"))["Records"]
names = [r["eventName"] for r in records]
expected = [
    "CreateKey", "CreateAlias", "ListAliases", "DescribeKey",
    "Encrypt", "Decrypt", "Decrypt", "Decrypt",
    "GenerateDataKey", "Decrypt",
    "DisableKey", "Encrypt", "EnableKey",
    "EnableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "RotateKey", "ListKeyRotations", "Decrypt",
    "ScheduleKeyDeletion", "Decrypt", "CancelKeyDeletion", "DescribeKey",
]
assert names == expected, f"eventName sequence:\n  got      {names}\n  expected {expected}"
errors = [(r["eventName"], r.get("errorCode")) for r in records if r.get("errorCode")]
assert errors == [
    ("Decrypt", "InvalidCiphertextException"), ("Decrypt", "InvalidCiphertextException"),
    ("Encrypt", "DisabledException"), ("Decrypt", "KMSInvalidStateException"),
], errors
for r in records:
    assert r["eventVersion"] == "1.11" and r["eventSource"] == "kms.amazonaws.com", r
    assert r["awsRegion"] == "us-east-1" and r["recipientAccountId"] == "111122223333", r
    if r["eventType"] == "AwsApiCall":
        assert r["userIdentity"]["type"] == "Root" and r["userIdentity"]["accessKeyId"] == "AKIAIOSFODNN7EXAMPLE", r
        assert r["userAgent"].startswith("aws-cli/"), r["userAgent"]
        assert len(r["requestID"]) == 36, r
by_name = {}
for r in records:
    by_name.setdefault(r["eventName"], []).append(r)
enc = by_name["Encrypt"][0]
assert enc["requestParameters"] == {"keyId": "alias/cli-scenario", "encryptionContext": {"purpose": "e2e", "suite": "cli"},
                                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, enc["requestParameters"]
assert enc["responseElements"] is None and enc["resources"][0]["ARN"] == key_arn, enc
dec = by_name["Decrypt"][0]
assert dec["requestParameters"] == {"encryptionContext": {"purpose": "e2e", "suite": "cli"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, dec
assert dec["resources"][0]["ARN"] == key_arn, "Decrypt without KeyId still names the key"
assert by_name["CreateAlias"][0]["requestParameters"] == {"aliasName": "alias/cli-scenario", "targetKeyId": key_id}
assert by_name["GenerateDataKey"][0]["requestParameters"] == {"keyId": key_arn, "keySpec": "AES_256"}
assert by_name["DisableKey"][0]["responseElements"] == {"keyId": key_arn}
assert by_name["EnableKeyRotation"][0]["requestParameters"] == {"keyId": key_id, "rotationPeriodInDays": 180}
assert by_name["RotateKey"][0]["eventType"] == "AwsServiceEvent"
assert by_name["RotateKey"][0]["serviceEventDetails"]["rotationType"] == "ON_DEMAND"
assert by_name["ScheduleKeyDeletion"][0]["requestParameters"] == {"keyId": key_id, "pendingWindowInDays": 7}
assert by_name["CancelKeyDeletion"][0]["responseElements"] == {"keyId": key_arn}

# No secret anywhere: the plaintext, the data key, the ciphertexts; raw, base64 or hex.
secrets = {
    "plaintext": plaintext.encode(),
    "data key": base64.b64decode(open(f"{work}/dk.b64").read()),
    "ciphertext": open(f"{work}/ct.bin", "rb").read(),
    "encrypted data key": open(f"{work}/dk.bin", "rb").read(),
}
places = {
    "records": open(f"{work}/records.json", "rb").read(),
    "--events-out": open(f"{work}/events.jsonl", "rb").read(),
    "server log": open(f"{work}/keytrail.log", "rb").read(),
}
lines = places["--events-out"].decode().splitlines()
assert len(lines) == len(records), f"{len(lines)} lines in --events-out for {len(records)} records"
assert [json.loads(l) for l in lines] == records, "--events-out and /_keytrail/events differ"
for what, secret in secrets.items():
    forms = [secret, base64.b64encode(secret), secret.hex().encode(), secret.hex().upper().encode(), base64.urlsafe_b64encode(secret)]
    for place, text in places.items():
        for form in forms:
            assert form not in text, f"{what} appears in the {place}"
print(f"e2e-cli-kms: {len(records)} records checked")
PY

step "OK"
