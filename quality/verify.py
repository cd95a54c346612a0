"""Verify Soda v4 data contracts, all in one Python process; verify_all.sh runs it.

    usage: python verify.py CONTRACT.yml [CONTRACT.yml ...]

`soda contract verify` takes one contract per call and spends ~2.5 s of CPU importing
itself each time; this calls the same library function (`verify_contract`, what the CLI
runs) for every contract in one process, so a full verification costs one start-up.
Outcomes and exit codes are the CLI's own. People read soda's result table per contract
and a summary on the console; programs read the structured results this writes to the run
folder (quality/results.py: a JSON document and a JUnit XML file). See verify_all.sh for
the exit-code contract.

Runs with the Python of the soda venv (soda-postgres brings psycopg too). Reads the
WAREHOUSE_* connection (datasource.yml); every contract variable, thresholds and run
included, comes from contract_variables.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from soda_core.cli.exit_codes import ExitCode
from soda_core.cli.handlers.contract import interpret_contract_verification_result
from soda_core.common.logging_configuration import configure_logging
from soda_core.contracts.api.verify_api import verify_contract

sys.path.insert(0, str(Path(__file__).with_name("volume")))
# Last, so that no folder of the project shadows a package of the soda venv.
sys.path.append(str(Path(__file__).resolve().parents[1]))  # orchestrate/settings.py
import contract_variables  # quality/contract_variables.py, beside this script
import record as volume_history  # quality/volume/record.py
import results  # quality/results.py, beside this script

from orchestrate.settings import validate
from orchestrate.startup import StartupError

QUALITY_DIR = Path(__file__).resolve().parent
DATA_SOURCE = QUALITY_DIR / "datasource.yml"

OUTCOME_NAMES = {
    ExitCode.OK: "PASSED",
    ExitCode.CHECK_WARNINGS: "PASSED_WITH_WARNINGS",
    ExitCode.CHECK_FAILURES: "FAILED",
}
VOLUME_MARKER = "quality.volume_change"


def run_scope() -> contract_variables.RunScope:
    """The run whose rejected records and identity conflicts are new (contract_variables.py)."""
    try:
        with volume_history.connect() as connection:
            return contract_variables.run_scope(connection)
    except Exception as exc:  # unreachable warehouse: every contract will say so too
        print(f"could not read the run from ops.pipeline_runs ({exc})")
        return contract_variables.RunScope(os.environ.get(contract_variables.RUN_ID, ""), "infinity")


def contract_name(path: Path) -> str:
    """raw/tracks for .../contracts/raw/tracks.yml; it is also the table, raw.tracks."""
    return f"{path.parent.name}/{path.stem}"


def check_record(check_result: Any) -> results.CheckRecord:
    check = check_result.check
    return results.CheckRecord(
        name=check.name or check.relative_path,
        type=check.type,
        column=check.column_name,
        outcome=check_result.outcome.value,
        threshold=str(check.threshold).replace("\n", "; ") if check.threshold is not None else None,
        measured=dict(check_result.diagnostic_metric_values or {}),
    )


def verify_one(path: Path, variables: dict[str, object]) -> results.ContractRecord:
    """One contract's outcome, Soda's exit code and its checks."""
    name = contract_name(path)
    if not path.is_file():
        print(f"contract file not found: {path}")
        return results.ContractRecord(name, str(path), "ERROR", ExitCode.LOG_ERRORS, "contract file not found")
    try:
        result = verify_contract(
            contract_file_path=str(path),
            dataset_identifier=None,
            data_source_file_path=str(DATA_SOURCE),
            soda_cloud_file_path=None,
            publish=False,
            variables=variables,
        )
    except Exception as error:  # the CLI turns any exception into exit 3 too
        traceback.print_exc(file=sys.stdout)
        return results.ContractRecord(name, str(path), "ERROR", ExitCode.LOG_ERRORS, f"{type(error).__name__}: {error}")
    code = int(interpret_contract_verification_result(result))
    checks = [
        check_record(check)
        for contract_result in result.contract_verification_results
        for check in contract_result.check_results
    ]
    return results.ContractRecord(
        name, str(path), OUTCOME_NAMES.get(code, "ERROR"), code, result.get_errors_str() or None, checks
    )


def main(paths: list[Path]) -> int:
    try:
        validate()  # the supervisor did already; `make quality` and a bare verify_all.sh did not
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)  # before soda's logging points stderr at stdout
        return int(ExitCode.LOG_ERRORS)
    configure_logging(verbose=False)  # soda's console report, as the CLI prints it
    scope = run_scope()
    print(f"new rejected records and identity conflicts: {scope.describe()}")
    variables = contract_variables.contract_variables(scope)
    contracts: list[results.ContractRecord] = []
    volumes: dict[str, bool] = {}
    for path in paths:
        print(f"=== contract {contract_name(path)} ({path}) ===", flush=True)
        contract = verify_one(path, variables)
        contracts.append(contract)
        print(f"=== contract {contract.name}: {contract.outcome} (soda exit {contract.soda_exit_code}) ===\n",
              flush=True)
        if path.is_file() and VOLUME_MARKER in path.read_text():
            # Only a passed contract moves its table's volume baseline (orchestrate/migrations/quality.sql).
            volumes[contract.name.replace("/", ".")] = contract.outcome.startswith("PASSED")

    if volumes:
        try:
            volume_history.record(volumes)
        except Exception as exc:
            print(f"could not record the row counts in quality.volume_history: {exc}")

    written = results.write(contracts, results.results_dir(QUALITY_DIR.parent))
    print_summary(contracts, written)
    return results.exit_code(results.totals(contracts))


def print_summary(contracts: list[results.ContractRecord], written: Path) -> None:
    """For people: a line per contract, the checks that did not hold under it, the totals."""
    print("=== Soda contract summary ===")
    for contract in contracts:
        print(f"{contract.name:<30} {contract.outcome:<21} soda exit {contract.soda_exit_code}")
        for check in contract.checks:
            if check.outcome in ("FAILED", "WARN"):
                print(f"    {'gate failed:' if check.outcome == 'FAILED' else 'warning:    '} {check.name}")
    counts = results.totals(contracts)
    print(f"passed: {counts['passed']}, failed: {counts['failed']}, errors: {counts['errors']}")
    print(f"warnings: {counts['warnings']}")
    print(f"results: {written} (JUnit: {written.with_name(results.JUNIT_FILE)})", flush=True)


def contract_paths(argv: list[str]) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contracts", nargs="+", type=Path, help="the contract files (verify_all.sh lists them)")
    return [path.resolve() for path in parser.parse_args(argv).contracts]


if __name__ == "__main__":
    sys.exit(main(contract_paths(sys.argv[1:])))
