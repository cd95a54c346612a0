"""Key metrics against their thresholds, on a synthetic ledger: each verdict flips when
the figure or the threshold (environment variable) crosses the line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest

from local.postgres import LocalPostgres
from orchestrate import health
from orchestrate.roles import prepare_warehouse
from tests.conftest import connect, recreate_database

DATABASE = "ops_health"
START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)


@pytest.fixture
def ledger(postgres_server: LocalPostgres) -> Iterator[psycopg.Connection]:
    recreate_database(postgres_server, DATABASE)
    with connect(postgres_server, DATABASE) as connection:
        prepare_warehouse(connection)
        yield connection


def add_run(connection: psycopg.Connection, day: int, seconds: float, figures: dict[tuple[str, str], float],
            status: str = "success", model: dict[str, float] | None = None) -> str:
    """A run in the ledger with these figures and, with `model`, the recommender's row of it."""
    run_id = f"run-{day:02d}"
    started = START + dt.timedelta(days=day)
    connection.execute(
        "insert into ops.pipeline_runs (run_id, job, environment, host, started_at, finished_at, duration_s, status)"
        " values (%s, 'daily', 'dev', 'h', %s, %s, %s, %s)",
        (run_id, started, started + dt.timedelta(seconds=seconds), seconds, status),
    )
    connection.execute(
        "insert into ops.pipeline_steps values (%s, 1, 'dbt_postgres_build', 'dbt-postgres:build', %s, %s, %s,"
        " 'success', 0, null)",
        (run_id, started, started, seconds),
    )
    connection.cursor().executemany(
        "insert into ops.pipeline_figures values (%s, %s, %s, %s, %s, null)",
        [(run_id, "warehouse" if metric == "rows" else "recommender_run", subject, metric, value)
         for (subject, metric), value in figures.items()],
    )
    if model is not None:
        connection.execute(
            f"insert into ml.training_runs (run_id, started_at, decision, {', '.join(model)})"
            f" values (%s, %s, 'promoted', {', '.join(['%s'] * len(model))})",
            (run_id, started, *model.values()),
        )
    return run_id


def verdicts(connection: psycopg.Connection, run_id: str) -> dict[tuple[str, str], bool]:
    return {(f.metric, f.subject): f.breached for f in health.evaluate(connection, run_id)}


def test_a_step_slower_than_its_history_is_flagged(ledger: psycopg.Connection,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for day in range(5):
        add_run(ledger, day, 100 + day, {})
    slow = add_run(ledger, 5, 200, {})
    assert verdicts(ledger, slow)[("duration_s", "dbt_postgres_build")] is True
    assert verdicts(ledger, slow)[("duration_s", "(end to end)")] is True
    monkeypatch.setenv("OPS_DURATION_FACTOR", "2.5")  # 2.5 x p95 (~104 s) = 260 s
    assert verdicts(ledger, slow)[("duration_s", "dbt_postgres_build")] is False


def test_no_duration_verdict_without_enough_history(ledger: psycopg.Connection) -> None:
    add_run(ledger, 0, 100, {})
    second = add_run(ledger, 1, 900, {})
    assert ("duration_s", "dbt_postgres_build") not in verdicts(ledger, second)


def test_a_volume_drop_against_the_previous_run_is_flagged(ledger: psycopg.Connection,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    add_run(ledger, 0, 100, {("raw.tracks", "rows"): 1000, ("raw.users", "rows"): 1000})
    dropped = add_run(ledger, 1, 100, {("raw.tracks", "rows"): 700, ("raw.users", "rows"): 990})
    result = verdicts(ledger, dropped)
    assert result[("volume_change_pct", "raw.tracks")] is True
    assert result[("volume_change_pct", "raw.users")] is False
    monkeypatch.setenv("OPS_VOLUME_MAX_DROP_PCT", "50")
    assert verdicts(ledger, dropped)[("volume_change_pct", "raw.tracks")] is False


def test_freshness_is_dbts_measure_against_dbts_bound(ledger: psycopg.Connection) -> None:
    run = add_run(ledger, 0, 100, {
        ("raw.tracks", "hours_since_load"): 2.0, ("raw.tracks", "freshness_warn_after_hours"): 26,
        ("raw.users", "hours_since_load"): 30.0, ("raw.users", "freshness_warn_after_hours"): 26,
        ("raw.listen_history", "hours_since_load"): 30.0, ("raw.listen_history", "freshness_warn_after_hours"): 48,
    })
    result = verdicts(ledger, run)
    assert result[("hours_since_load", "raw.tracks")] is False
    assert result[("hours_since_load", "raw.users")] is True
    assert result[("hours_since_load", "raw.listen_history")] is False


def test_model_against_baseline_and_champion(ledger: psycopg.Connection) -> None:
    """The model's scores are the recommender's row in ml.training_runs, read by run id."""
    good = add_run(ledger, 0, 100, {}, model={"ndcg_at_10": 0.20, "popularity_ndcg_at_10": 0.05,
                                              "champion_ndcg_at_10": 0.21, "coverage": 0.4})
    result = verdicts(ledger, good)
    assert not result[("ndcg_vs_baseline", "model")] and not result[("ndcg_vs_champion", "model")]
    assert not result[("coverage", "model")]
    bad = add_run(ledger, 1, 100, {}, model={"ndcg_at_10": 0.04, "popularity_ndcg_at_10": 0.05,
                                             "champion_ndcg_at_10": 0.21, "coverage": 0.01})
    result = verdicts(ledger, bad)
    assert result[("ndcg_vs_baseline", "model")] and result[("ndcg_vs_champion", "model")]
    assert result[("coverage", "model")]
    assert verdicts(ledger, good)[("coverage", "model")] is False  # each run judged on its own row


def test_no_model_verdict_without_the_recommenders_row(ledger: psycopg.Connection) -> None:
    """Model figures in the ledger are no longer read; no row (or no table) means no verdict."""
    copied = add_run(ledger, 0, 100, {("model", "ndcg_at_10"): 0.01, ("model", "popularity_ndcg_at_10"): 0.05,
                                      ("model", "coverage"): 0.01})
    assert all(subject != "model" for _, subject in verdicts(ledger, copied))
    ledger.execute("drop table ml.training_runs")  # a warehouse no recommender has written
    assert all(subject != "model" for _, subject in verdicts(ledger, copied))


def test_a_failed_run_is_always_a_breach(ledger: psycopg.Connection) -> None:
    failed = add_run(ledger, 0, 10, {}, status="failed")
    assert verdicts(ledger, failed)[("run_status", "daily")] is True
