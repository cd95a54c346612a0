"""Verify Soda v4 data contracts, all in one Python process; verify_all.sh runs it.

    python verify.py CONTRACT.yml [CONTRACT.yml ...]

`soda contract verify` takes one contract per call and spends ~2.5 s of CPU importing
itself each time; this calls the same library function (`verify_contract`, what the CLI
runs) for every contract in one process, so a full verification costs one start-up.
Outcomes, exit codes and the printed report are the CLI's own: per contract soda's
result table, then a summary; see verify_all.sh for the output and exit-code contract.

Runs with the Python of the soda venv (soda-postgres brings psycopg too). Reads the
WAREHOUSE_* connection (datasource.yml) and the QUALITY_* thresholds (VARIABLES).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from soda_core.cli.exit_codes import ExitCode
from soda_core.cli.handlers.contract import interpret_contract_verification_result
from soda_core.common.logging_configuration import configure_logging
from soda_core.contracts.api.verify_api import verify_contract
from soda_core.contracts.contract_verification import CheckOutcome

sys.path.insert(0, str(Path(__file__).with_name("volume")))
import record as volume_history  # quality/volume/record.py

QUALITY_DIR = Path(__file__).resolve().parent
DATA_SOURCE = QUALITY_DIR / "datasource.yml"

# Contract variable <- environment variable. Only the variables that are set are passed,
# so each contract's `variables:` defaults stay the one place for defaults. A contract
# ignores the variables it does not declare.
VARIABLES = {
    "warehouse_db": "WAREHOUSE_DB",
    "freshness_warn_hours": "QUALITY_FRESHNESS_WARN_HOURS",
    "freshness_fail_hours": "QUALITY_FRESHNESS_FAIL_HOURS",
    "volume_max_drop_pct": "QUALITY_VOLUME_MAX_DROP_PCT",
    "volume_max_growth_pct": "QUALITY_VOLUME_MAX_GROWTH_PCT",
    "max_invalid_emails": "QUALITY_MAX_INVALID_EMAILS",
    "max_unknown_track_listens": "QUALITY_MAX_UNKNOWN_TRACK_LISTENS",
    "max_new_identity_conflicts": "QUALITY_MAX_NEW_IDENTITY_CONFLICTS",
    "max_new_rejected_records": "QUALITY_MAX_NEW_REJECTED_RECORDS",
    "recent_hours": "QUALITY_RECENT_HOURS",
}

OUTCOME_NAMES = {
    ExitCode.OK: "PASSED",
    ExitCode.CHECK_WARNINGS: "PASSED_WITH_WARNINGS",
    ExitCode.CHECK_FAILURES: "FAILED",
}
VOLUME_MARKER = "ops.quality_volume_change"


def contract_variables() -> dict[str, object]:
    """The thresholds from the environment; numbers as numbers, as the CLI's --set does
    (a threshold must be a YAML number, a string is rejected)."""
    values: dict[str, object] = {}
    for variable, env_name in VARIABLES.items():
        value = os.environ.get(env_name)
        if value:
            try:
                values[variable] = int(value)
            except ValueError:
                try:
                    values[variable] = float(value)
                except ValueError:
                    values[variable] = value
    return values


def contract_name(path: Path) -> str:
    """raw/tracks for .../contracts/raw/tracks.yml; it is also the table, raw.tracks."""
    return f"{path.parent.name}/{path.stem}"


def verify_one(path: Path, variables: dict[str, object]) -> tuple[int, list[str]]:
    """Soda's exit code for one contract and the lines naming the checks that did not hold."""
    if not path.is_file():
        print(f"contract file not found: {path}")
        return ExitCode.LOG_ERRORS, []
    try:
        result = verify_contract(
            contract_file_path=str(path),
            dataset_identifier=None,
            data_source_file_path=str(DATA_SOURCE),
            soda_cloud_file_path=None,
            publish=False,
            variables=variables,
        )
    except Exception:  # the CLI turns any exception into exit 3 too
        traceback.print_exc(file=sys.stdout)
        return ExitCode.LOG_ERRORS, []
    named = [
        f"    {'gate failed:' if check.outcome == CheckOutcome.FAILED else 'warning:    '} {check.check.name}"
        for contract_result in result.contract_verification_results
        for check in contract_result.check_results
        if check.outcome in (CheckOutcome.FAILED, CheckOutcome.WARN)
    ]
    return int(interpret_contract_verification_result(result)), named


def main(paths: list[Path]) -> int:
    configure_logging(verbose=False)  # soda's console report, as the CLI prints it
    variables = contract_variables()
    try:
        volume_history.setup()
    except Exception as exc:  # unreachable warehouse: every contract will say so too
        print(f"could not set up ops.quality_volume_history ({exc}): volume checks will error")

    totals = {"passed": 0, "failed": 0, "errors": 0}
    warnings = 0
    summary: list[str] = []
    volumes: dict[str, bool] = {}
    for path in paths:
        name = contract_name(path)
        print(f"=== contract {name} ({path}) ===", flush=True)
        rc, named = verify_one(path, variables)
        outcome = OUTCOME_NAMES.get(rc, "ERROR")
        totals["passed" if outcome.startswith("PASSED") else "failed" if outcome == "FAILED" else "errors"] += 1
        warnings += sum("warning:" in line for line in named)
        print(f"=== contract {name}: {outcome} (soda exit {rc}) ===\n", flush=True)
        summary.append(f"{name:<30} {outcome:<21} soda exit {rc}")
        summary.extend(named)
        if path.is_file() and VOLUME_MARKER in path.read_text():
            # Only a passed contract moves its table's volume baseline (volume_history.sql).
            volumes[name.replace("/", ".")] = outcome.startswith("PASSED")

    if volumes:
        try:
            volume_history.record(volumes)
        except Exception as exc:
            print(f"could not record the row counts in ops.quality_volume_history: {exc}")

    print("=== Soda contract summary ===")
    print("\n".join(summary))
    print(f"passed: {totals['passed']}, failed: {totals['failed']}, errors: {totals['errors']}")
    print(f"warnings: {warnings}", flush=True)
    if totals["errors"]:
        return 3
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main([Path(arg).resolve() for arg in sys.argv[1:]]))
