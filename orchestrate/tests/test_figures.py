"""Unit tests of the figures read from the tools' structured results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate import figures as figures_module
from orchestrate.figures import freshness_figures, soda_figures
from orchestrate.job_definition import DAILY_JOB, job_tasks, step_name
from orchestrate.ledger import Figure
from orchestrate.run_daily import collect_figures

STARTED = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def soda_document(generated_at: dt.datetime) -> dict:
    """What quality/results.py writes: one passed contract with a warning, one failed, one errored."""
    check = {"type": "row_count", "column": None, "threshold": "level: fail; must be greater than: 0"}
    return {
        "generated_at": generated_at.isoformat(),
        "outcome": "ERROR",
        "exit_code": 3,
        "totals": {"passed": 1, "failed": 1, "errors": 1, "warnings": 1},
        "contracts": [
            {"name": "raw/users", "file": "raw/users.yml", "outcome": "PASSED_WITH_WARNINGS", "soda_exit_code": 2,
             "error": None, "checks": [
                 {**check, "name": "rows", "outcome": "PASSED", "measured": {"check_rows_tested": 4}},
                 {**check, "name": "gender is one of the API's values", "column": "gender", "type": "invalid",
                  "outcome": "WARN", "measured": {"invalid_count": 1}},
             ]},
            {"name": "raw/tracks", "file": "raw/tracks.yml", "outcome": "FAILED", "soda_exit_code": 1, "error": None,
             "checks": [{**check, "name": "rows", "outcome": "FAILED", "measured": {"check_rows_tested": 0}}]},
            {"name": "marts/dim_tracks", "file": "marts/dim_tracks.yml", "outcome": "ERROR", "soda_exit_code": 3,
             "error": "relation marts.dim_tracks does not exist", "checks": []},
        ],
    }


def write(run_dir: Path, document: dict) -> None:
    (run_dir / "soda-results.json").write_text(json.dumps(document))


def test_soda_figures_come_from_the_results_file(tmp_path: Path) -> None:
    write(tmp_path, soda_document(STARTED + dt.timedelta(minutes=3)))
    figures = {(f.subject, f.metric): f for f in soda_figures("soda_verify_all", tmp_path, STARTED)}
    totals = {m: figures[("soda", m)].value for m in ("contracts_passed", "contracts_failed", "contracts_errored",
                                                      "warnings")}
    assert totals == {"contracts_passed": 1, "contracts_failed": 1, "contracts_errored": 1, "warnings": 1}
    assert figures[("raw/users", "contract_passed")] == Figure(
        "soda_verify_all", "raw/users", "contract_passed", 1.0, "PASSED_WITH_WARNINGS")
    assert figures[("raw/tracks", "contract_passed")].value == 0.0
    assert figures[("marts/dim_tracks", "contract_passed")].detail == (
        "ERROR: relation marts.dim_tracks does not exist")
    warned = figures[("raw/users · gender: gender is one of the API's values", "check_passed")]
    assert (warned.value, warned.detail) == (0.5, 'WARN {"invalid_count": 1}')
    assert figures[("raw/tracks · rows", "check_passed")].value == 0.0


def test_a_results_file_older_than_the_step_is_not_this_step(tmp_path: Path) -> None:
    write(tmp_path, soda_document(STARTED - dt.timedelta(days=1)))
    assert soda_figures("soda_verify_all", tmp_path, STARTED) == []


def test_no_results_file_means_no_figure(tmp_path: Path) -> None:
    assert soda_figures("soda_verify_all", tmp_path, STARTED) == []
    (tmp_path / "soda-results.json").write_text("{not json")
    assert soda_figures("soda_verify_all", tmp_path, STARTED) == []


def test_freshness_figures_come_from_dbts_sources_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    criteria = {"warn_after": {"count": 26, "period": "hour"}, "error_after": {"count": 7, "period": "day"}}
    (tmp_path / "sources.json").write_text(json.dumps({
        "metadata": {"generated_at": (STARTED + dt.timedelta(seconds=5)).isoformat().replace("+00:00", "Z")},
        "results": [
            {"unique_id": "source.moovitamix.moovitamix.users", "status": "warn",
             "max_loaded_at_time_ago_in_s": 30 * 3600.0, "criteria": criteria},
            {"unique_id": "source.moovitamix.moovitamix.tracks", "status": "pass",
             "max_loaded_at_time_ago_in_s": 1800.0, "criteria": criteria},
        ],
    }))
    figures = {(f.subject, f.metric): (f.value, f.detail) for f in freshness_figures("fresh", STARTED)}
    assert figures == {
        ("raw.users", "hours_since_load"): (30.0, "warn"),
        ("raw.users", "freshness_warn_after_hours"): (26.0, None),
        ("raw.tracks", "hours_since_load"): (0.5, "pass"),
        ("raw.tracks", "freshness_warn_after_hours"): (26.0, None),
    }
    assert freshness_figures("fresh", STARTED + dt.timedelta(minutes=1)) == []  # an older file: not this step's


def test_only_the_dbt_step_that_builds_them_counts_identity_conflicts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each dbt step of the job, read from meltano.yml: a dbt step added later is checked too.
    dbt_tasks = [task for task in job_tasks(DAILY_JOB) if task.startswith("dbt")]
    assert {"dbt-postgres:build", "dbt-postgres:profile-published"} <= set(dbt_tasks)
    monkeypatch.setattr(figures_module, "dbt_figures", lambda step, started: [])
    monkeypatch.setattr(figures_module, "freshness_figures", lambda step, started: [])
    monkeypatch.setattr(figures_module, "identity_conflict_figures",
                        lambda connection, step, started: [Figure(step, "identity_conflicts", "new", 1.0)])
    ledger = SimpleNamespace(connection=None, run_id="run-1")
    counting = {task for task in dbt_tasks
                if collect_figures(ledger, task, step_name(task), [], tmp_path, STARTED, STARTED)}
    assert counting == {"dbt-postgres:build"}
