"""Shared fixtures: one real local Spark session for the whole test session (a session
costs ~12-30 s to start, so each test reusing it keeps the suite in minutes), and a
Postgres connection factory for the tests that need the warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from orchestrate.project import PROJECT_ROOT
from orchestrate.roles import prepare_warehouse
from psycopg import sql
from pyspark.sql import SparkSession

from recommender.settings import SparkSettings
from recommender.spark import build_spark, find_java

from .synthetic import synthetic_interactions

TEST_DB = "moovitamix_ml_test"


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    if find_java() is None:
        pytest.fail("Java is required for the Spark tests (install OpenJDK 17)")
    settings = replace(
        SparkSettings.from_env(PROJECT_ROOT),
        master="local[2]",
        shuffle_partitions=2,
        driver_memory="2g",
    )
    session = build_spark(settings, tmp_path_factory.mktemp("spark") / "checkpoints")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def planted() -> pd.DataFrame:
    """Synthetic interactions with genre structure, already mapped to dense indices."""
    return synthetic_interactions()


def conninfo(dbname: str) -> dict[str, object]:
    return {
        "host": os.environ.get("WAREHOUSE_HOST", "127.0.0.1"),
        "port": int(os.environ.get("WAREHOUSE_PORT", "5433")),
        "user": os.environ.get("WAREHOUSE_USER", "moovitamix"),
        "password": os.environ.get("WAREHOUSE_PASSWORD") or None,
        "dbname": dbname,
        "connect_timeout": 3,
    }


@pytest.fixture(scope="session")
def test_database() -> Iterator[str]:
    """A database of its own on the WAREHOUSE_* server; skipped, with the reason, when no
    server answers."""
    admin_db = os.environ.get("WAREHOUSE_DB", "moovitamix")
    info = conninfo(admin_db)
    try:
        admin = psycopg.connect(**info, autocommit=True)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"no Postgres at {info['host']}:{info['port']} db={admin_db} "
            f"(set WAREHOUSE_HOST/PORT/USER/PASSWORD/DB): {str(exc).strip().splitlines()[0]}"
        )
    drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(TEST_DB))
    with admin:
        admin.execute(drop)
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(TEST_DB)))
    yield TEST_DB
    with psycopg.connect(**info, autocommit=True) as admin:  # type: ignore[arg-type]
        admin.execute(drop)


# The marts the recommender reads (as dbt builds them, only the columns it uses), empty;
# the ml tables as the migrations make them (`warehouse`).
FRESH_MARTS = """
drop schema if exists marts cascade;
drop schema if exists ml cascade;
create schema marts;
create table marts.dim_tracks (track_id bigint primary key, genre text);
create table marts.dim_users (user_id bigint primary key, favorite_genre text);
create table marts.user_track_interactions (
    user_id bigint not null, track_id bigint not null, listen_count int not null,
    first_seen_at timestamptz not null, last_seen_at timestamptz not null,
    primary key (user_id, track_id)
);
"""


def fresh_marts(conn: psycopg.Connection) -> None:
    conn.execute(FRESH_MARTS)
    prepare_warehouse(conn)


@pytest.fixture()
def warehouse(test_database: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh marts + ml layout (tables as dbt and the
    migrations make them)."""
    with psycopg.connect(**conninfo(test_database), autocommit=True) as conn:  # type: ignore[arg-type]
        fresh_marts(conn)
        yield conn


@pytest.fixture()
def job_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, test_database: str) -> Path:
    """Environment of a job run against the test database, MLflow under tmp_path."""
    monkeypatch.setenv("WAREHOUSE_DB", test_database)
    # The JDBC driver installed in the project, whatever MOOVITAMIX_HOME says below.
    monkeypatch.setenv("SPARK_JDBC_JAR", str(SparkSettings.from_env(PROJECT_ROOT).jdbc_jar))
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_ARTIFACT_ROOT",
        "MLFLOW_REGISTERED_MODEL",
        "MOOVITAMIX_RUN_ID",
        "RETRAIN_FORCE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALS_MAX_ITER", "5")  # these tests check plumbing, not model quality
    monkeypatch.setenv("ALS_RANK", "8")
    # A search of two small settings: the plumbing of the search, at little cost.
    monkeypatch.setenv("SEARCH_MAX_FITS", "2")
    monkeypatch.setenv("SEARCH_RANKS", "8")
    monkeypatch.setenv("SEARCH_MAX_ITERS", "5")
    monkeypatch.chdir(tmp_path)
    return tmp_path
