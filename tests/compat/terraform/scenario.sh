#!/usr/bin/env bash
# Terraform's AWS provider (hashicorp/aws from the machine's filesystem mirror, /opt/tf-plugins)
# against keytrail: apply the configuration (*.tf here), check what it made, plan again (it must
# show no changes), destroy, and check the records of all three. Skipped, with a message, only
# where terraform is not installed.
source "$(dirname "$0")/../lib/compat.sh"
if ! command -v terraform > /dev/null; then
    say "SKIPPED: terraform is not installed on this machine"
    exit 77
fi
mirror=${TF_PROVIDER_MIRROR:-/opt/tf-plugins}
[ -d "$mirror/registry.terraform.io/hashicorp/aws" ] || fail "no hashicorp/aws provider under $mirror (the filesystem mirror)"
work=$TMPDIR/terraform
mkdir -p "$work"
cp "$(dirname "$0")"/*.tf "$work/"
cat > "$TMPDIR/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path = "$mirror"
  }
}
RC
export TF_CLI_CONFIG_FILE=$TMPDIR/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0 TF_VAR_endpoint=$KEYTRAIL_ENDPOINT
tf() { terraform -chdir="$work" "$@"; }

tf init -no-color > "$TMPDIR/init.log" || { cat "$TMPDIR/init.log"; fail "terraform init"; }
tf apply -no-color -auto-approve > "$TMPDIR/apply.log" || { cat "$TMPDIR/apply.log"; fail "terraform apply"; }
[ "$(tf output -raw account_id)" = "111122223333" ] || fail "account_id from aws_caller_identity"
[ "$(tf output -raw secret)" = "terraform compat secret" ] || fail "aws_kms_secrets did not decrypt aws_kms_ciphertext"
say "apply made every resource ($(tf state list | wc -l) in state) by ${SECONDS}s"

set +e
tf plan -no-color -detailed-exitcode > "$TMPDIR/plan.log"
plan=$?
set -e
[ $plan -eq 0 ] || { cat "$TMPDIR/plan.log"; fail "the second plan is not empty (exit $plan)"; }
say "a second plan shows no changes (${SECONDS}s)"

tf destroy -no-color -auto-approve > "$TMPDIR/destroy.log" || { cat "$TMPDIR/destroy.log"; fail "terraform destroy"; }
say "destroy removed everything (${SECONDS}s)"

count() { py "sum(1 for x in r if x['eventName'] == '$1')"; }
[ "$(count CreateKey)" = "2" ] || fail "CreateKey records: $(count CreateKey)"
[ "$(count CreateAlias)" = "1" ] && [ "$(count DeleteAlias)" = "1" ] || fail "alias records"
[ "$(count CreateGrant)" = "1" ] && [ "$(count RetireGrant)$(count RevokeGrant)" != "00" ] || fail "grant records"
[ "$(count ScheduleKeyDeletion)" = "2" ] || fail "ScheduleKeyDeletion records: $(count ScheduleKeyDeletion)"
[ "$(count CreateTrail)" = "1" ] && [ "$(count DeleteTrail)" = "1" ] && [ "$(count PutEventSelectors)" = "1" ] || fail "trail records"
[ "$(count Encrypt)" -ge 1 ] && [ "$(count Decrypt)" -ge 1 ] || fail "aws_kms_ciphertext / aws_kms_secrets records"
# Destroying aws_kms_key_policy puts the default policy back, naming the account's root.
last_policy=$(py "[x for x in r if x['eventName'] == 'PutKeyPolicy'][-1]['requestParameters']['policy']")
case "$last_policy" in *'arn:aws:iam::111122223333:root'*) ;; *) fail "the policy put back on destroy: $last_policy" ;; esac
[ "$(py "all(x['userIdentity'].get('arn') == 'arn:aws:iam::111122223333:user/terraform' for x in r)")" = "True" ] || fail "every call as the terraform user"
[ "$(py "sum(1 for x in r if x.get('errorCode'))")" = "0" ] \
    || fail "failed calls: $(py "[(x['eventName'], x['errorCode']) for x in r if x.get('errorCode')]")"
say "the records are the provider's calls, none failed"
