#!/usr/bin/env bash
# The AWS Encryption CLI (aws-encryption-sdk-cli, pinned in ./requirements.txt, on the AWS
# Encryption SDK 3): encrypt a file under two wrapping keys, decrypt it with each, and check the
# metadata the CLI reports and the KMS records it left. keytrail is found through
# AWS_ENDPOINT_URL_KMS, as botocore reads it.
source "$(dirname "$0")/../lib/compat.sh"
export AWS_ENDPOINT_URL_KMS=$KEYTRAIL_ENDPOINT AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=any AWS_DEFAULT_REGION=us-east-1
cli="$COMPAT_TOOLS/esdk-cli/bin/aws-encryption-cli"
"$cli" --version | grep -q 'aws-encryption-sdk-cli/4\.' || fail "expected aws-encryption-sdk-cli 4: $("$cli" --version)"
key1=$(aws kms create-key --query KeyMetadata.Arn --output text)
key2=$(aws kms create-key --query KeyMetadata.Arn --output text)
work=$TMPDIR/esdk
mkdir -p "$work/out" "$work/dec1" "$work/dec2"
head -c 100000 /dev/urandom | base64 > "$work/plain.txt"
mark=$(py 'len(r)')

"$cli" --encrypt --input "$work/plain.txt" --output "$work/out" --wrapping-keys "key=$key1" "key=$key2" \
    --encryption-context purpose=compat --commitment-policy require-encrypt-require-decrypt \
    --metadata-output "$work/encrypt.json"
[ -f "$work/out/plain.txt.encrypted" ] || fail "no ciphertext file"
python3 - "$work/encrypt.json" "$key1" "$key2" <<'PY' || fail "encrypt metadata"
import json, sys
meta = json.loads(open(sys.argv[1]).read().splitlines()[0])
import base64
keys = {base64.b64decode(k["key_provider"]["key_info"]).decode() for k in meta["header"]["encrypted_data_keys"]}
assert keys == {sys.argv[2], sys.argv[3]}, keys
assert meta["header"]["encryption_context"]["purpose"] == "compat", meta["header"]["encryption_context"]
PY
for i in 1 2; do
    key=$([ $i = 1 ] && echo "$key1" || echo "$key2")
    "$cli" --decrypt --input "$work/out/plain.txt.encrypted" --output "$work/dec$i" --wrapping-keys "key=$key" \
        --encryption-context purpose=compat --commitment-policy require-encrypt-require-decrypt --metadata-output "$work/decrypt$i.json"
    cmp -s "$work/plain.txt" "$work/dec$i/plain.txt.encrypted.decrypted" || fail "decrypt with key $i differs"
done
say "encrypted under two keys, decrypted with each"

got=$(py "[x['eventName'] for x in r[$mark:]]")
[ "$got" = "['GenerateDataKey', 'Encrypt', 'Decrypt', 'Decrypt']" ] || fail "records: $got"
[ "$(py "[x['resources'][0]['ARN'] for x in r[$mark:]] == ['$key1', '$key2', '$key1', '$key2']")" = "True" ] || fail "keys in the records"
[ "$(py "all(x['requestParameters']['encryptionContext'].get('purpose') == 'compat' and 'aws-crypto-public-key' in x['requestParameters']['encryptionContext'] for x in r[$mark:])")" = "True" ] \
    || fail "the CLI's encryption context (and the SDK's signing key) in every record"
[ "$(py "all(x['responseElements'] is None for x in r[$mark:])")" = "True" ] || fail "a record shows key material"
say "the records are the CLI's KMS calls"
