#!/usr/bin/env bash
# The AWS CLI (v1, pinned in ../requirements.txt) configured only through its own files: an
# endpoint_url in the config, alice's keys in the credentials file, and a profile with role_arn
# that the CLI assumes through keytrail's STS before signing KMS calls as the role session.
source "$(dirname "$0")/../lib/compat.sh"
cat > "$AWS_CONFIG_FILE" <<CONFIG
[default]
region = us-east-1
endpoint_url = $KEYTRAIL_ENDPOINT
output = text

[profile ops]
role_arn = arn:aws:iam::111122223333:role/ops
role_session_name = cli-ops
source_profile = default
region = us-east-1
endpoint_url = $KEYTRAIL_ENDPOINT
output = text
CONFIG
cat > "$AWS_SHARED_CREDENTIALS_FILE" <<CREDS
[default]
aws_access_key_id = AKIAALICE00000000001
aws_secret_access_key = alice-secret
CREDS

aws --version 2>&1 | grep -q '^aws-cli/1\.' || fail "expected the pinned AWS CLI v1: $(aws --version 2>&1)"
key=$(aws kms create-key --description compat --query KeyMetadata.Arn)
aws kms create-alias --alias-name alias/compat-cli --target-key-id "$key"
printf 'plaintext for the CLI' > "$TMPDIR/plain.txt"
aws kms encrypt --key-id alias/compat-cli --plaintext "fileb://$TMPDIR/plain.txt" --encryption-context purpose=compat \
    --query CiphertextBlob | base64 -d > "$TMPDIR/ct.bin"
got=$(aws kms decrypt --ciphertext-blob "fileb://$TMPDIR/ct.bin" --encryption-context purpose=compat --query Plaintext | base64 -d)
[ "$got" = "plaintext for the CLI" ] || fail "decrypt gave '$got'"
[ "$(aws kms generate-data-key --key-id "$key" --key-spec AES_256 --query 'length(Plaintext)')" = "44" ] || fail "data key"
aws cloudtrail create-trail --name compat --s3-bucket-name compat-logs > /dev/null
[ "$(aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=Decrypt --query 'length(Events)')" = "1" ] \
    || fail "LookupEvents did not find the Decrypt"
[ "$(aws sts get-caller-identity --query Arn)" = "arn:aws:iam::111122223333:user/alice" ] || fail "get-caller-identity"
# The profile with role_arn: the CLI calls AssumeRole, then signs as the session.
[ "$(aws --profile ops sts get-caller-identity --query Arn)" = "arn:aws:sts::111122223333:assumed-role/ops/cli-ops" ] \
    || fail "the ops profile is not the role session"
aws --profile ops kms describe-key --key-id "$key" > /dev/null
say "every command answered as AWS does"

expected="CreateKey CreateAlias Encrypt Decrypt GenerateDataKey CreateTrail LookupEvents GetCallerIdentity AssumeRole GetCallerIdentity DescribeKey"
[ "$(names | tr '\n' ' ' | sed 's/ $//')" = "$expected" ] || fail "records: $(names | tr '\n' ' ')"
[ "$(py 'r[3]["requestParameters"]["encryptionContext"]["purpose"]')" = "compat" ] || fail "Decrypt's encryptionContext"
[ "$(py 'r[3]["userAgent"].startswith("aws-cli/1.")')" = "True" ] || fail "userAgent: $(py 'r[3]["userAgent"]')"
[ "$(py 'r[-1]["userIdentity"]["type"]')" = "AssumedRole" ] || fail "DescribeKey as the role session"
[ "$(py 'r[-1]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]')" = "arn:aws:iam::111122223333:role/ops" ] || fail "sessionIssuer"
[ "$(py 'r[-3]["eventSource"]')" = "sts.amazonaws.com" ] || fail "AssumeRole's eventSource"
say "the records are the CLI's calls, the role session's included"
