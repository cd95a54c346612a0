"""The full `moovitamix-ml run` against a real Postgres, with MLflow in a temp dir.

Connection from WAREHOUSE_HOST/PORT/USER/PASSWORD/DB (defaults 127.0.0.1:5433,
moovitamix); the test creates and drops its own database so it never touches the
warehouse's tables. Skipped, with the reason, when no server answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pyspark.sql import SparkSession

from recommender.cli import main

from .synthetic import synthetic_listens

TEST_DB = "moovitamix_ml_test"
pytestmark = pytest.mark.integration


def _conninfo(dbname: str) -> dict[str, object]:
    return {
        "host": os.environ.get("WAREHOUSE_HOST", "127.0.0.1"),
        "port": int(os.environ.get("WAREHOUSE_PORT", "5433")),
        "user": os.environ.get("WAREHOUSE_USER", "moovitamix"),
        "password": os.environ.get("WAREHOUSE_PASSWORD") or None,
        "dbname": dbname,
        "connect_timeout": 3,
    }


@pytest.fixture(scope="module")
def test_database() -> Iterator[str]:
    admin_db = os.environ.get("WAREHOUSE_DB", "moovitamix")
    info = _conninfo(admin_db)
    try:
        admin = psycopg.connect(**info, autocommit=True)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"no Postgres at {info['host']}:{info['port']} db={admin_db} "
            f"(set WAREHOUSE_HOST/PORT/USER/PASSWORD/DB): {str(exc).strip().splitlines()[0]}"
        )
    with admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(TEST_DB))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(TEST_DB)))
    yield TEST_DB
    with psycopg.connect(**info, autocommit=True) as admin:  # type: ignore[arg-type]
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(TEST_DB))
        )


@pytest.fixture()
def warehouse(test_database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(**_conninfo(test_database), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(
            """
            drop schema if exists marts cascade;
            drop schema if exists ml cascade;
            create schema marts;
            create table marts.dim_tracks (track_id bigint primary key, title text);
            create table marts.fct_listens (
                user_id bigint, track_id bigint, position int,
                history_created_at timestamptz, history_updated_at timestamptz
            );
            """
        )
        yield conn


@pytest.fixture()
def job_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_database: str) -> Path:
    monkeypatch.setenv("WAREHOUSE_DB", test_database)
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ARTIFACT_ROOT", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTERED_MODEL", raising=False)
    monkeypatch.setenv("ALS_MAX_ITER", "5")  # the test checks plumbing, not model quality
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _load(conn: psycopg.Connection, rows: list[tuple[int, int]], n_tracks: int) -> None:
    with conn.cursor() as cur:
        with cur.copy("copy marts.dim_tracks (track_id, title) from stdin") as copy:
            for i in range(n_tracks):
                copy.write_row((5000 + i, f"track {i}"))
        with cur.copy("copy marts.fct_listens (user_id, track_id, position) from stdin") as copy:
            for position, (user_id, track_id) in enumerate(rows):
                copy.write_row((user_id, track_id, position))


def test_empty_input_fails_clearly(
    warehouse: psycopg.Connection, job_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 1
    assert "error: marts.fct_listens is empty" in capsys.readouterr().err


def test_full_run_writes_recommendations_and_registers_model(
    warehouse: psycopg.Connection,
    job_env: Path,
    # Requesting the session's Spark makes the job reuse it (it only stops a session it started).
    spark: SparkSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = synthetic_listens(n_users=50, n_tracks=40, items_per_user=6)
    _load(warehouse, rows, n_tracks=40)
    # A track absent from dim_tracks that most users listened to: without the catalogue
    # filter it would be the top candidate for the users who have not heard it yet.
    unknown_track = 777777
    listeners = sorted({user_id for user_id, _ in rows})[:40]
    copy_listens = "copy marts.fct_listens (user_id, track_id, position) from stdin"
    with warehouse.cursor() as cur, cur.copy(copy_listens) as copy:
        for user_id in listeners:
            copy.write_row((user_id, unknown_track, 1000))
    # Yesterday's list, for a user who is no longer in the data: must be gone after the swap.
    warehouse.execute(
        """
        create schema ml;
        create table ml.user_recommendations (
            user_id bigint not null, rank int not null, track_id bigint not null,
            score double precision not null, model_version text not null,
            generated_at timestamptz not null, primary key (user_id, rank));
        insert into ml.user_recommendations values (999999, 1, 5000, 1.0, 'old', now());
        """
    )

    assert main(["run"]) == 0
    log = capsys.readouterr().err
    assert "event=run_finished model_version=1 rows_written=500" in log, log

    recs = warehouse.execute(
        "select user_id, rank, track_id, score, model_version, generated_at "
        "from ml.user_recommendations order by user_id, rank"
    ).fetchall()
    history: dict[int, set[int]] = {}
    for user_id, track_id in rows:
        history.setdefault(user_id, set()).add(track_id)
    by_user: dict[int, list[tuple]] = {}
    for rec in recs:
        by_user.setdefault(rec[0], []).append(rec)
    assert set(by_user) == set(history)  # every user, and the stale user is gone
    for user_id, user_recs in by_user.items():
        assert [r[1] for r in user_recs] == list(range(1, 11))
        tracks = {r[2] for r in user_recs}
        assert len(tracks) == 10 and not tracks & history[user_id]
        scores = [r[3] for r in user_recs]
        assert scores == sorted(scores, reverse=True)
    assert unknown_track not in {r[2] for r in recs}
    assert {r[4] for r in recs} == {"1"}
    assert len({r[5] for r in recs}) == 1

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{job_env.resolve()}/.mlflow/mlflow.db")
    version = client.get_model_version("moovitamix-als", "1")
    run = client.get_run(version.run_id)
    for name in ("precision_at_10", "recall_at_10", "ndcg_at_10"):
        assert f"model_{name}" in run.data.metrics and f"baseline_{name}" in run.data.metrics
    assert run.data.metrics["rows_written"] == 500
    assert run.data.params["als_rank"] == "16" and run.data.params["users"] == "50"
    artifacts = job_env / ".mlflow" / "artifacts"
    assert any(p.name == "MLmodel" for p in artifacts.rglob("MLmodel")), (
        "model not under .mlflow/artifacts"
    )
