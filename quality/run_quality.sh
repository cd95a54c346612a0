#!/bin/sh
# Usage: quality/run_quality.sh (`make quality`)
#
# Every data-quality check on the current warehouse, without loading or
# building anything: dbt's tests (`dbt test`, on what the last build left), then every
# Soda contract (quality/verify_all.sh through Meltano). Both always run, so one report
# shows everything; the exit code is the first non-zero of the two (dbt test, then Soda),
# 0 when no gate failed (Soda warnings do not count).
#
# Run from anywhere; it uses the project's Meltano (.venv/bin/meltano) and the
# WAREHOUSE_* / QUALITY_* environment (see quality/README.md). No run id: the two "new in
# this run" warnings count what the ledger's latest run rejected and redrew.
set -u
case "${1:-}" in -h | --help)
    # This header, without its comment marks.
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
    exit 0 ;;
esac

PROJECT_ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
MELTANO=${MELTANO:-$PROJECT_ROOT/.venv/bin/meltano}
cd "$PROJECT_ROOT" || exit 3

echo "=== dbt tests ==="
"$MELTANO" invoke dbt-postgres:test
dbt_rc=$?

echo "=== Soda contracts ==="
"$MELTANO" invoke soda:verify-all
soda_rc=$?

echo "=== quality: dbt test exit $dbt_rc, soda exit $soda_rc ==="
if [ "$dbt_rc" -ne 0 ]; then
    exit "$dbt_rc"
fi
exit "$soda_rc"
