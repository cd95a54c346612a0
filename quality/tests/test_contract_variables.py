"""One owner per value: the contracts write no default, verify.py passes every variable
they use from orchestrate/settings.py, and "new" is scoped to a run, not to a clock.

Unit tests: no Postgres, no soda (test_contracts.py verifies the contracts for real).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

from orchestrate import health  # noqa: E402
from orchestrate.settings import SETTINGS  # noqa: E402

QUALITY_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(QUALITY_DIR))
import contract_variables  # noqa: E402  (quality/contract_variables.py)
from contract_variables import RunScope  # noqa: E402

CONTRACTS = sorted((QUALITY_DIR / "contracts").glob("*/*.yml"))
USED = re.compile(r"\$\{var\.(\w+)\}")
ENVIRON = {"WAREHOUSE_DB": "moovitamix"}
A_RUN = RunScope("run-1", "2026-12-01T06:00:00+00:00")


def declared(contract: Path) -> dict[str, Any]:
    return yaml.safe_load(contract.read_text()).get("variables") or {}


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_a_contract_declares_what_it_uses_and_writes_no_default(contract: Path) -> None:
    variables = declared(contract)
    assert variables, "every contract names its database through warehouse_db"
    assert {name: value for name, value in variables.items() if value is not None} == {}, (
        "a value here would be a second default: orchestrate/settings.py owns them"
    )
    assert set(USED.findall(contract.read_text())) == set(variables)


def test_verify_passes_every_variable_the_contracts_declare_and_no_other() -> None:
    passed = contract_variables.contract_variables(A_RUN, ENVIRON)
    assert set(passed) == {name for contract in CONTRACTS for name in declared(contract)}


def test_each_threshold_is_its_setting_default_unless_set() -> None:
    passed = contract_variables.contract_variables(A_RUN, ENVIRON)
    for variable, setting in contract_variables.THRESHOLDS.items():
        assert passed[variable] == SETTINGS[setting].default, variable
    changed = contract_variables.contract_variables(
        A_RUN, {**ENVIRON, "QUALITY_VOLUME_GATE_DROP_PCT": "80", "QUALITY_VOLUME_MAX_GROWTH_PCT": "12.5"}
    )
    # Numbers as numbers (Soda rejects a string threshold), whole ones without ".0" (check names).
    assert (changed["volume_gate_drop_pct"], changed["volume_max_growth_pct"]) == (80, 12.5)
    assert isinstance(changed["volume_gate_drop_pct"], int)


def test_identity_conflicts_are_one_fact_for_soda_and_the_alert() -> None:
    name = "max_new_identity_conflicts"
    assert contract_variables.THRESHOLDS[name] == health.THRESHOLDS[name]


def test_the_volume_alert_and_the_volume_gate_are_two_settings_the_alert_first() -> None:
    gate, alert = contract_variables.THRESHOLDS["volume_gate_drop_pct"], health.THRESHOLDS["volume_alert_drop_pct"]
    assert gate != alert
    # A drop is announced before it stops the job.
    assert SETTINGS[alert].default < SETTINGS[gate].default


class Ledger:
    """Answers like Postgres: whether ops.pipeline_runs exists, then its row (if any)."""

    def __init__(self, exists: bool, row: tuple[str, dt.datetime] | None = None) -> None:
        self.exists, self.row = exists, row
        self.asked: list[Any] = []

    def execute(self, query: str, params: Any = None) -> Ledger:
        self.answer = ("ops.pipeline_runs" if self.exists else None,) if "to_regclass" in query else self.row
        if "to_regclass" not in query:
            self.asked.append(params)
        return self

    def fetchone(self) -> Any:
        return self.answer


def test_new_means_of_the_supervisors_run_started_by_its_own_clock() -> None:
    # The ledger's start, in the runner's clock, whatever the warehouse's now() says.
    started = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    ledger = Ledger(exists=True, row=("run-7", started))
    scope = contract_variables.run_scope(ledger, {"MOOVITAMIX_RUN_ID": "run-7"})
    assert ledger.asked == [("run-7",)]
    assert scope == RunScope("run-7", "2026-12-02T06:00:00+00:00")
    passed = contract_variables.contract_variables(scope, ENVIRON)
    assert (passed["run_id"], passed["run_started_at"]) == ("run-7", "2026-12-02T06:00:00+00:00")


def test_outside_a_run_new_means_of_the_ledgers_latest_run() -> None:
    ledger = Ledger(exists=True, row=("run-6", dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)))
    assert contract_variables.run_scope(ledger, {}) == RunScope("run-6", "2026-12-01T06:00:00+00:00")
    assert ledger.asked == [(None,)]  # no id: coalesce(NULL, run_id) matches every run, the latest first


def test_without_a_ledger_nothing_is_new_but_the_run_ids_rejects() -> None:
    assert contract_variables.run_scope(Ledger(exists=False), {}) == RunScope("", "infinity")
    assert contract_variables.run_scope(Ledger(exists=False), {"MOOVITAMIX_RUN_ID": "r"}) == RunScope("r", "infinity")
    assert contract_variables.run_scope(Ledger(exists=True), {"MOOVITAMIX_RUN_ID": "r"}) == RunScope("r", "infinity")
    assert "none" in RunScope("", "infinity").describe()


def test_a_quote_in_a_run_id_stays_inside_the_sql_string() -> None:
    passed = contract_variables.contract_variables(RunScope("manual__o'clock", "infinity"), ENVIRON)
    assert passed["run_id"] == "manual__o''clock"
