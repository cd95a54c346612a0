"""End to end: the real `daily` job (Meltano ► target-postgres ► dbt ► Soda ► Spark/MLflow)
against the stand-in API and a real Postgres; the warehouse must equal the API."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.stand_in.app import create_app
from local.postgres import LocalPostgres
from local.stand_in import running_stand_in
from orchestrate.project import PROJECT_ROOT
from tests.conftest import connect, free_port, job_environment, recreate_database, run_daily

DATABASE = "test_daily_job"
# The stand-ins of this module require a bearer token: every caller of the API in the job
# (the start-up check, the tap) must send it.
TOKEN = "daily-job-test-token"
# A salt no file of the project holds: wherever it shows up after the run, it leaked.
SALT = "distinctive-salt-9f3c1e7a5b2d4f6081a3c5e7b9d1f3a5"


def read_all(base_get, endpoint: str) -> list[dict]:
    records, page = [], 1
    while True:
        body = base_get(f"/{endpoint}?page={page}&size=100").json()
        if not body["items"]:
            return records
        records.extend(body["items"])
        page += 1


@pytest.fixture(scope="module")
def api_records() -> dict[str, list[dict]]:
    """What the stand-in serves with its default settings (same seed, same records)."""
    client = TestClient(create_app())
    return {name: read_all(client.get, name) for name in ("tracks", "users", "listen_history")}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("daily")


@pytest.fixture(scope="module")
def job_env(postgres_server: LocalPostgres, run_folder: Path) -> dict[str, str]:
    recreate_database(postgres_server, DATABASE)
    # Every file the run writes lands in run_folder (dbt's target and logs, the run logs,
    # the report, the MLflow store).
    # One search trial: the search runs within the whole job here (make test turns it off elsewhere).
    return {**job_environment(run_folder, DATABASE), "SEARCH_MAX_FITS": "1",
            "MOOVITAMIX_API_TOKEN": TOKEN, "PII_SALT": SALT,
            "DBT_LOG_PATH": str(run_folder / "dbt-logs"), "RUN_LOG_DIR": str(run_folder / "logs"),
            "REPORT_PATH": str(run_folder / "health.html")}


@pytest.fixture(scope="module")
def first_run(job_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_daily(job_env)


@pytest.fixture(scope="module")
def warehouse(postgres_server: LocalPostgres, first_run) -> Iterator[psycopg.Connection]:
    with connect(postgres_server, DATABASE) as connection:
        yield connection


def test_the_salt_keys_the_users_and_is_written_nowhere(warehouse: psycopg.Connection, run_folder: Path) -> None:
    email, key = warehouse.execute(
        "select p.email, d.user_key from pii.users p join marts.dim_users d using (user_id) limit 1"
    ).fetchone()
    assert key == hashlib.sha256((SALT + email.strip().lower()).encode()).hexdigest()
    written = [path for path in run_folder.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sql" for path in written) and any("dbt-logs" in str(path) for path in written)
    leaks = [str(path) for path in written if SALT.encode() in path.read_bytes()]
    assert leaks == []


def ids(connection: psycopg.Connection, query: str) -> list[int]:
    return sorted(row[0] for row in connection.execute(query))


def table_counts(connection: psycopg.Connection) -> dict[str, int]:
    tables = [
        "raw.tracks",
        "raw.users",
        "raw.listen_history",
        "marts.dim_tracks",
        "marts.dim_users",
        "marts.fct_listens",
        "ml.user_recommendations",
    ]
    return {table: connection.execute(f"select count(*) from {table}").fetchone()[0] for table in tables}


def test_job_succeeds_and_prints_a_summary(first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, first_run.stdout[-3000:] + first_run.stderr[-3000:]
    assert "daily run: SUCCESS" in first_run.stdout
    assert "raw.tracks" in first_run.stdout and "ml.user_recommendations" in first_run.stdout
    assert "1 ALS settings tried" in first_run.stdout  # the search ran, with its budget of one fit
    # The stand-in was started for the job and stopped afterwards.
    assert "event=api.stopped" in first_run.stderr


def test_raw_tables_equal_the_api(warehouse: psycopg.Connection, api_records: dict[str, list[dict]]) -> None:
    assert len(api_records["tracks"]) == 1000
    assert ids(warehouse, "select id from raw.tracks") == sorted(t["id"] for t in api_records["tracks"])
    assert ids(warehouse, "select id from raw.users") == sorted(u["id"] for u in api_records["users"])
    assert ids(warehouse, "select user_id from raw.listen_history") == sorted(
        h["user_id"] for h in api_records["listen_history"]
    )
    stored = dict(warehouse.execute("select user_id, items from raw.listen_history").fetchall())
    assert stored == {h["user_id"]: h["items"] for h in api_records["listen_history"]}


def test_marts_explode_every_history_item(warehouse: psycopg.Connection, api_records: dict[str, list[dict]]) -> None:
    expected = sorted(
        (h["user_id"], position, track_id)
        for h in api_records["listen_history"]
        for position, track_id in enumerate(h["items"], start=1)
    )
    listens = sorted(warehouse.execute("select user_id, position, track_id from marts.fct_listens").fetchall())
    assert listens == expected
    assert warehouse.execute("select count(*) from marts.dim_tracks").fetchone()[0] == 1000
    assert warehouse.execute("select count(*) from marts.dim_users").fetchone()[0] == 1000


def test_ten_fresh_recommendations_per_user(warehouse: psycopg.Connection, api_records: dict[str, list[dict]]) -> None:
    per_user = dict(
        warehouse.execute(
            "select user_id, array_agg(rank order by rank) from ml.user_recommendations group by user_id"
        ).fetchall()
    )
    assert sorted(per_user) == sorted(u["id"] for u in api_records["users"])
    assert all(ranks == list(range(1, 11)) for ranks in per_user.values())
    already_listened = warehouse.execute(
        "select count(*) from ml.user_recommendations r join marts.fct_listens l using (user_id, track_id)"
    ).fetchone()[0]
    assert already_listened == 0
    unknown_tracks = warehouse.execute(
        "select count(*) from ml.user_recommendations r"
        " left join marts.dim_tracks t using (track_id) where t.track_id is null"
    ).fetchone()[0]
    assert unknown_tracks == 0
    versions = warehouse.execute("select distinct model_version from ml.user_recommendations").fetchall()
    assert len(versions) == 1 and versions[0][0]


def test_second_run_against_an_external_api_changes_no_counts(
    warehouse: psycopg.Connection, job_env: dict[str, str], run_folder: Path
) -> None:
    """Same data served by a server the user started (MOOVITAMIX_API_URL): an upsert, not an append."""
    before = table_counts(warehouse)
    with running_stand_in({"MOOVITAMIX_API_TOKEN": TOKEN}, free_port(), run_folder / "external-api.log") as url:
        second = run_daily({**job_env, "MOOVITAMIX_API_URL": url})
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "event=api.starting" not in second.stderr  # it used the given URL, started nothing
    assert table_counts(warehouse) == before
    duplicates = warehouse.execute("select count(*) - count(distinct id) from raw.tracks").fetchone()[0]
    assert duplicates == 0


def test_local_state_stays_out_of_git() -> None:
    # Trailing slashes: the directories need not exist yet for their rule to be checked.
    local_state = [".pgdata/", ".pgdata-test/", ".mlflow/", "mlruns/", ".meltano/", ".venv/", ".logs/", ".env", "x.db"]
    ignored = subprocess.run(
        ["git", "check-ignore", *local_state], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    assert ignored == local_state
