#!/bin/sh
# Verify every Soda data contract of the warehouse, one `soda contract verify` per
# contract (Soda v4's CLI takes one contract per call), and aggregate the outcome.
#
# Usage: quality/verify_all.sh [CONTRACT.yml ...]
#   Without arguments: every contract, raw layer first, then marts.
#
# Environment:
#   WAREHOUSE_HOST (127.0.0.1) WAREHOUSE_PORT (5433) WAREHOUSE_USER (moovitamix)
#   WAREHOUSE_PASSWORD (empty: trust auth) WAREHOUSE_DB (moovitamix)
#   SODA_BIN  the soda executable (default: `soda` on PATH)
#
# Exit code: 0 every contract passed (warn-level checks allowed),
#            1 at least one contract failed a check and none errored,
#            3 at least one contract could not be verified (connection, missing table,
#              bad contract, soda not found...).
set -u

QUALITY_DIR=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

# Soda v4 YAML has no defaults for ${env.X}: an unset variable becomes null. Export
# every connection variable, with the project defaults, before soda reads datasource.yml.
: "${WAREHOUSE_HOST:=127.0.0.1}"
: "${WAREHOUSE_PORT:=5433}"
: "${WAREHOUSE_USER:=moovitamix}"
: "${WAREHOUSE_DB:=moovitamix}"
WAREHOUSE_PASSWORD=${WAREHOUSE_PASSWORD-}
export WAREHOUSE_HOST WAREHOUSE_PORT WAREHOUSE_USER WAREHOUSE_PASSWORD WAREHOUSE_DB
# Without this every run waits ~7 s trying to send telemetry to an unreachable host.
SODA_CORE_TELEMETRY_ENABLED=false
export SODA_CORE_TELEMETRY_ENABLED

SODA_BIN=${SODA_BIN:-soda}
DATA_SOURCE="$QUALITY_DIR/datasource.yml"

if [ "$#" -eq 0 ]; then
    set -- "$QUALITY_DIR"/contracts/raw/*.yml "$QUALITY_DIR"/contracts/marts/*.yml
fi

# A contract is named by its path under contracts/ without .yml, e.g. raw/tracks.
contract_name() {
    name=${1##*contracts/}
    echo "${name%.yml}"
}

passed=0
failed=0
errored=0
summary=""

for contract in "$@"; do
    name=$(contract_name "$contract")
    echo "=== contract $name ($contract) ==="
    if [ ! -f "$contract" ]; then
        echo "contract file not found: $contract" >&2
        rc=3
    else
        "$SODA_BIN" contract verify \
            --data-source "$DATA_SOURCE" \
            --contract "$contract" \
            --set "warehouse_db=$WAREHOUSE_DB"
        rc=$?
    fi
    case $rc in
        0) outcome=PASSED; passed=$((passed + 1)) ;;
        2) outcome=PASSED_WITH_WARNINGS; passed=$((passed + 1)) ;;
        1) outcome=FAILED; failed=$((failed + 1)) ;;
        *) outcome=ERROR; errored=$((errored + 1)) ;;
    esac
    echo "=== contract $name: $outcome (soda exit $rc) ==="
    echo
    summary="$summary$(printf '%-22s %-21s soda exit %s' "$name" "$outcome" "$rc")
"
done

echo "=== Soda contract summary ==="
printf '%s' "$summary"
echo "passed: $passed, failed: $failed, errors: $errored"

if [ "$errored" -gt 0 ]; then
    exit 3
elif [ "$failed" -gt 0 ]; then
    exit 1
fi
exit 0
