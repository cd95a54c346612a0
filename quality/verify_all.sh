#!/bin/sh
# Verify the Soda data contracts of the warehouse and aggregate the outcome into one
# exit code: the quality gate of the daily job (Meltano: `soda:verify-all`).
#
# Usage: quality/verify_all.sh [CONTRACT.yml | CONTRACT_DIR ...]
#   Without arguments: every contract, raw, marts, pii, ops. A directory means its *.yml.
#
# Environment:
#   WAREHOUSE_HOST (127.0.0.1) WAREHOUSE_PORT (5433) WAREHOUSE_USER (moovitamix)
#   WAREHOUSE_PASSWORD (empty) WAREHOUSE_DB (moovitamix); under Meltano, USER and PASSWORD
#   are the quality role's (quality/quality.meltano.yml)
#   SODA_BIN     the soda executable (default: `soda` on PATH); the contracts are verified
#                by quality/verify.py with the `python` beside it (its venv has soda-core)
#   SODA_PYTHON  that Python, if it is somewhere else
#   QUALITY_*    thresholds, passed to the contracts as variables with the shared
#                OPS_MAX_NEW_IDENTITY_CONFLICTS (quality/README.md); unset means the
#                default of orchestrate/settings.py, their one owner
#   MOOVITAMIX_RUN_ID  the run whose rejected records and identity conflicts are new (the
#                supervisor exports it); unset: the latest run of ops.pipeline_runs
#
# Output: for people, each contract's soda report between `=== contract raw/tracks (...) ===`
# and `=== contract raw/tracks: PASSED (soda exit 0) ===`, then a summary (one line per
# contract, the checks that did not hold under it, the totals). For programs, the run
# folder ($RUN_DIR, else .logs/soda) gets soda-results.json and soda-junit.xml
# (quality/results.py); nothing parses the console text.
#
# Exit code: 0 every contract passed (warn-level checks allowed: soda exit 2),
#            1 at least one contract failed a gate and none errored,
#            3 at least one contract could not be verified (connection, missing table,
#              bad contract, soda not found...).
set -u
case "${1:-}" in -h | --help)
    # This header, without its comment marks.
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
    exit 0 ;;
esac

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

if [ "$#" -eq 0 ]; then
    set -- "$QUALITY_DIR"/contracts/raw "$QUALITY_DIR"/contracts/marts \
        "$QUALITY_DIR"/contracts/pii "$QUALITY_DIR"/contracts/ops
fi
# Directories to their contracts, in name order (paths have no spaces: project layout).
contracts=""
for argument in "$@"; do
    if [ -d "$argument" ]; then
        contracts="$contracts $(ls "$argument"/*.yml | tr '\n' ' ')"
    else
        contracts="$contracts $argument"
    fi
done

if [ -n "${SODA_PYTHON:-}" ]; then
    python=$SODA_PYTHON
elif soda_path=$(command -v "${SODA_BIN:-soda}"); then
    python="$(dirname -- "$soda_path")/python"
else
    python=""
fi
if [ -z "$python" ] || ! "$python" -c 'import soda_core' 2>/dev/null; then
    echo "soda not found: set SODA_BIN to the soda of a soda-postgres==4.28.0 venv" >&2
    echo "=== Soda contract summary ==="
    echo "passed: 0, failed: 0, errors: $(echo $contracts | wc -w)"
    echo "warnings: 0"
    exit 3
fi

# shellcheck disable=SC2086  # one argument per contract path
exec "$python" "$QUALITY_DIR/verify.py" $contracts
