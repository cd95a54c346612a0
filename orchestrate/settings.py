"""The supervisor's numeric settings, each with its default and what it allows.

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
    # Thresholds of the key metrics (orchestrate/health.py; README.md "Operations").
    "OPS_DURATION_FACTOR": Number(1.5, 1),  # x the p95 of the same step's history
    "OPS_DURATION_HISTORY_RUNS": Number(14, 1, integer=True),
    "OPS_DURATION_MIN_HISTORY": Number(3, 1, integer=True),  # fewer successful runs: no verdict yet
    "OPS_VOLUME_MAX_DROP_PCT": Number(20, 0, 100),  # rows per raw entity vs the previous run
    "OPS_MAX_REJECT_RATIO": Number(0.001, 0, 1),  # rejected / read, per run
    "OPS_MAX_ORPHAN_RATIO": Number(0.01, 0, 1),  # listens of tracks not in the catalogue
    "OPS_MAX_NEW_IDENTITY_CONFLICTS": Number(0, 0, integer=True),
    "OPS_MAX_RETRIES": Number(10, 0, integer=True),  # HTTP retries over all streams
    "OPS_MAX_HTTP_429": Number(5, 0, integer=True),
    "OPS_MAX_NDCG_DROP_VS_CHAMPION": Number(0.10, 0, 1),  # relative
    "OPS_MIN_COVERAGE": Number(0.05, 0, 1),  # share of the catalogue recommended to someone
    "OPS_MIN_USERS_SCORED_RATIO": Number(0.99, 0, 1),  # users with recommendations / users
    # Runs of a step again after the warehouse restarted under it (every step is idempotent).
    "WAREHOUSE_RESTART_RETRIES": Number(1, 0, 5, integer=True),
    # Where the servers listen.
    "WAREHOUSE_PORT": PORT,
    "MOOVITAMIX_API_PORT": PORT,
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
    for variable in SETTINGS:
        number(variable, environ)
