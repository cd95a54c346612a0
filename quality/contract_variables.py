"""The values of the contracts' variables: every variable passed to every contract.

The contracts declare their variables without a default. Soda (4.28) then requires a
value: a contract verified without one is an error (exit 3), never a silent fallback. So
each value has one owner, read here:

- the thresholds: orchestrate/settings.py, the platform's one table of defaults and
  allowed ranges (the supervisor checks it before any step), under the setting THRESHOLDS
  names;
- warehouse_db: WAREHOUSE_DB, which verify_all.sh exports;
- run_id and run_started_at: the run whose rejected records and identity conflicts are new
  (`run_scope`).

verify.py runs this in the soda venv, the unit tests in the project's: the standard
library and orchestrate/settings.py only; the ledger's connection is passed in.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrate.settings import number

# Contract variable <- the setting that owns its value (default and range: orchestrate/settings.py).
THRESHOLDS: dict[str, str] = {
    "volume_gate_drop_pct": "QUALITY_VOLUME_GATE_DROP_PCT",
    "volume_max_growth_pct": "QUALITY_VOLUME_MAX_GROWTH_PCT",
    "max_invalid_emails": "QUALITY_MAX_INVALID_EMAILS",
    "max_unknown_track_listens": "QUALITY_MAX_UNKNOWN_TRACK_LISTENS",
    "max_new_rejected_records": "QUALITY_MAX_NEW_REJECTED_RECORDS",
    # One fact with the run's alert on identity conflicts (orchestrate/health.py).
    "max_new_identity_conflicts": "OPS_MAX_NEW_IDENTITY_CONFLICTS",
}
# The run's id, which the supervisor exports to every step (orchestrate/steps.py).
RUN_ID = "MOOVITAMIX_RUN_ID"
# This run's row of the supervisor's ledger; without a run id, its latest run.
LEDGER_RUN = (
    "select run_id, started_at from ops.pipeline_runs where run_id = coalesce(%s, run_id)"
    " order by started_at desc limit 1"
)


class Connection(Protocol):
    def execute(self, query: str, params: Any = ...) -> Any: ...


@dataclass(frozen=True)
class RunScope:
    """The run whose rejected records and identity conflicts are new.

    Rejected records carry the id of the run that rejected them (the tap stamps them).
    An identity conflict is new when its current identity was loaded since the run
    started: `started_at` is the ledger's, stamped by the supervisor with the runner's
    clock, the clock that also stamps `loaded_at` (target-postgres' _sdc_batched_at). Two
    stamps of one clock: a runner whose clock is a day off counts the same rows, which a
    comparison with the warehouse's now() did not.
    """

    run_id: str  # '' when no run is known: no rejected record carries it
    started_at: str  # ISO 8601; 'infinity' when the run's start is unknown: no conflict is new

    def describe(self) -> str:
        if not self.run_id:
            return "none: no run id and no run in ops.pipeline_runs"
        if self.started_at == "infinity":
            return f"those of run {self.run_id} (not in ops.pipeline_runs: its identity conflicts are not counted)"
        return f"those of run {self.run_id} (started {self.started_at} by the runner's clock)"


def run_scope(connection: Connection, environ: Mapping[str, str] = os.environ) -> RunScope:
    """The supervisor's run (MOOVITAMIX_RUN_ID). Outside one (`make quality`): the ledger's
    latest run, whose verification this repeats on the warehouse it left."""
    wanted = environ.get(RUN_ID) or None
    row = None
    if connection.execute("select to_regclass('ops.pipeline_runs')").fetchone()[0] is not None:
        row = connection.execute(LEDGER_RUN, (wanted,)).fetchone()
    if row is None:
        return RunScope(wanted or "", "infinity")
    run_id, started_at = row
    return RunScope(run_id, started_at.astimezone(dt.UTC).isoformat())


def contract_variables(scope: RunScope, environ: Mapping[str, str] = os.environ) -> dict[str, object]:
    """Every contract variable's value; the contracts ignore those they do not declare."""
    values: dict[str, object] = {name: _plain(number(setting, environ)) for name, setting in THRESHOLDS.items()}
    values.update(
        warehouse_db=environ["WAREHOUSE_DB"],
        # The contract puts it between single quotes in SQL: a quote inside is doubled.
        run_id=scope.run_id.replace("'", "''"),
        run_started_at=scope.started_at,
    )
    return values


def _plain(value: float) -> int | float:
    """50 rather than 50.0, as the CLI's --set gives it: check names show the threshold."""
    return int(value) if float(value).is_integer() else value
