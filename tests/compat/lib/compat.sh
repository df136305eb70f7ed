# What the shell scenarios share (sourced): the endpoint, records, and failing loudly.
# Needs KEYTRAIL_ENDPOINT (set by tests/compat/run) and python3.
set -euo pipefail
COMPAT_NAME=$(basename "$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)")
say() { echo "compat/$COMPAT_NAME: $*"; }
fail() { echo "compat/$COMPAT_NAME: FAIL: $*" >&2; exit 1; }
# records [eventName] -> the Records array as JSON
records() {
    local q=""
    [ $# -gt 0 ] && q="?eventName=$1"
    curl -sf "$KEYTRAIL_ENDPOINT/_keytrail/events$q"
}
# names -> one eventName a line, oldest first
names() { records | python3 -c 'import json,sys; print("\n".join(r["eventName"] for r in json.load(sys.stdin)["Records"]))'; }
# jq-like: py 'expression over r (the Records list)' prints its value
py() { records | python3 -c "import json,sys; r=json.load(sys.stdin)['Records']; print($1)"; }
