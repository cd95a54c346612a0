"""The platform's numeric settings, each with its default and what it allows: the
supervisor's own, the thresholds of its key metrics and those of the Soda contracts. This
table is the one place their defaults are written; the others read them from here.

Every one is read through `number()` and all are checked by `validate()` when a run
starts: a wrong value stops the run before any step, with one line naming the variable,
its value and what is allowed, instead of a traceback hours later in the middle of a run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrate.startup import StartupError


@dataclass(frozen=True)
class Number:
    default: float
    minimum: float = 0
    maximum: float = math.inf
    integer: bool = False

    def allowed(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        upper = "" if self.maximum == math.inf else f" and at most {self.maximum:g}"
        return f"{kind} of at least {self.minimum:g}{upper}"

    def parse(self, variable: str, text: str | None) -> float:
        if text is None or text.strip() == "":
            return self.default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isnan(value) or not self.minimum <= value <= self.maximum or (self.integer and value != int(value)):
            raise StartupError(f"{variable}={text!r} is not allowed: it must be {self.allowed()}")
        return int(value) if self.integer else value


PORT = Number(0, 1, 65535, integer=True)
SETTINGS: dict[str, Number] = {
    # Alerts: retries of the webhook, first back-off (doubled at each retry).
    "ALERT_RETRIES": Number(4, 0, 20, integer=True),
    "ALERT_BACKOFF_SECONDS": Number(1, 0, 600),
    # The health report's history, in runs.
    "REPORT_RUNS": Number(60, 1, 10_000, integer=True),
    # How long an orchestrator's lease outlives the start of a task.
    "RUN_LEASE_HOURS": Number(6, 0.01, 24 * 7),
    # Thresholds of the key metrics (orchestrate/health.py; README.md "Operations"): crossing
    # one sends the run's alert, it never stops the job.
    "OPS_DURATION_FACTOR": Number(1.5, 1),  # x the p95 of the same step's history
    "OPS_DURATION_HISTORY_RUNS": Number(14, 1, integer=True),
    "OPS_DURATION_MIN_HISTORY": Number(3, 1, integer=True),  # fewer successful runs: no verdict yet
    # The alert on a volume drop: rows per raw entity against the previous successful run.
    # Not QUALITY_VOLUME_GATE_DROP_PCT, the larger drop that stops the job.
    "OPS_VOLUME_MAX_DROP_PCT": Number(20, 0, 100),
    # Rejected / read records of the whole run. Not the tap's max_rejected_ratio (per stream:
    # above it the extract-load fails) nor QUALITY_MAX_NEW_REJECTED_RECORDS (a count).
    "OPS_MAX_REJECT_RATIO": Number(0.001, 0, 1),
    # Share of listens of tracks not in the catalogue. Not QUALITY_MAX_UNKNOWN_TRACK_LISTENS (a count).
    "OPS_MAX_ORPHAN_RATIO": Number(0.01, 0, 1),
    # Ids the API redrew in this run: one fact for the alert and for Soda's warning on
    # ops.identity_conflicts (quality/contract_variables.py passes it to the contract).
    "OPS_MAX_NEW_IDENTITY_CONFLICTS": Number(0, 0, integer=True),
    "OPS_MAX_RETRIES": Number(10, 0, integer=True),  # HTTP retries over all streams
    "OPS_MAX_HTTP_429": Number(5, 0, integer=True),
    "OPS_MAX_NDCG_DROP_VS_CHAMPION": Number(0.10, 0, 1),  # relative
    "OPS_MIN_COVERAGE": Number(0.05, 0, 1),  # share of the catalogue recommended to someone
    "OPS_MIN_USERS_SCORED_RATIO": Number(0.99, 0, 1),  # users with recommendations / users
    # Thresholds of the Soda contracts (quality/contract_variables.py passes them, the contracts
    # declare them without a default; quality/README.md "Thresholds").
    # The volume drop that stops the job: rows against the table's last accepted verification
    # (raw and marts). Not OPS_VOLUME_MAX_DROP_PCT, the smaller drop that only alerts.
    "QUALITY_VOLUME_GATE_DROP_PCT": Number(50, 0, 100),
    "QUALITY_VOLUME_MAX_GROWTH_PCT": Number(100, 0),  # a warning: a restart of the API doubles raw
    "QUALITY_MAX_INVALID_EMAILS": Number(0, 0, integer=True),  # a gate on raw.users and pii.users
    "QUALITY_MAX_UNKNOWN_TRACK_LISTENS": Number(0, 0, integer=True),  # a warning on marts.fct_listens
    "QUALITY_MAX_NEW_REJECTED_RECORDS": Number(0, 0, integer=True),  # a warning: rejected in this run
    # Runs of a step again after the warehouse restarted under it (every step is idempotent).
    "WAREHOUSE_RESTART_RETRIES": Number(1, 0, 5, integer=True),
    # Where the servers listen.
    "WAREHOUSE_PORT": PORT,
    "MOOVITAMIX_API_PORT": PORT,
}


# Names an earlier version read: set, they would now be ignored without a word (an operator
# widening the volume gate would see the job stop again), so a run that sets one stops.
RETIRED: dict[str, str] = {
    "QUALITY_VOLUME_MAX_DROP_PCT": "set QUALITY_VOLUME_GATE_DROP_PCT (the gate) or OPS_VOLUME_MAX_DROP_PCT (the alert)",
    "QUALITY_MAX_NEW_IDENTITY_CONFLICTS": "set OPS_MAX_NEW_IDENTITY_CONFLICTS (the alert and Soda's warning)",
    "QUALITY_RECENT_HOURS": "unset it: new rejected records and identity conflicts are the run's (quality/README.md)",
}


def number(variable: str, environ: Mapping[str, str] = os.environ) -> float:
    return SETTINGS[variable].parse(variable, environ.get(variable))


def number_or_default(variable: str) -> float:
    """For what must work even when the settings are wrong: the alert that says so."""
    try:
        return number(variable)
    except StartupError:
        return SETTINGS[variable].default


def validate(environ: Mapping[str, str] = os.environ) -> None:
    for variable, instead in RETIRED.items():
        if environ.get(variable, "").strip():
            raise StartupError(f"{variable} is no longer read: {instead}")
    for variable in SETTINGS:
        number(variable, environ)
