"""Least privilege on the real local server: each component logs in with its own role,
and each role sees only what orchestrate/roles.sql gives it, after a whole daily run."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from orchestrate.roles import COMPONENT_ROLES, password_variable
from orchestrate.startup import stop_process
from tests.conftest import free_port, job_environment, recreate_database, run_daily

DATABASE = "roles_test"
MELTANO = str(PROJECT_ROOT / ".venv" / "bin" / "meltano")


@pytest.fixture(scope="module")
def job_env(postgres_server: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    recreate_database(postgres_server, DATABASE)
    env = job_environment(tmp_path_factory.mktemp("roles"), DATABASE)
    env.update(MOOVITAMIX_API_RECORDS="200", RUN_LOG_DIR=str(tmp_path_factory.mktemp("logs")))
    for leaked in ("ALERT_WEBHOOK_URL", "MELTANO_ENVIRONMENT"):
        env.pop(leaked, None)
    run = run_daily(env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return env


def login(server: LocalPostgres, role: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=server.port, user=role, dbname=DATABASE, autocommit=True,
                           password=os.environ[password_variable(role)], connect_timeout=15)


def can_select(server: LocalPostgres, role: str, table: str) -> bool:
    with login(server, role) as connection:
        try:
            connection.execute(f"select count(*) from {table}").fetchone()
        except psycopg.errors.InsufficientPrivilege:
            return False
    return True


def test_each_component_writes_with_its_own_role(postgres_server: LocalPostgres, job_env: dict[str, str]) -> None:
    with postgres_server.connect(DATABASE) as owner:
        owners = dict(owner.execute(
            "select schemaname, string_agg(distinct tableowner, ',') from pg_tables"
            " where schemaname in ('raw', 'meltano', 'staging', 'snapshots', 'marts', 'pii', 'ops', 'quality', 'ml')"
            " group by schemaname"
        ).fetchall())
    assert owners == {
        "raw": "loader", "meltano": "loader", "snapshots": "transformer", "marts": "transformer",
        "pii": "transformer", "ops": "transformer", "quality": "quality", "ml": "ml",
    }


@pytest.mark.parametrize("table", ["pii.users", "raw.users", "raw.rejected_records", "staging.stg_users",
                                   "snapshots.users_snapshot", "meltano.state"])
def test_the_reader_cannot_see_personal_or_raw_data(
    postgres_server: LocalPostgres, job_env: dict[str, str], table: str
) -> None:
    assert not can_select(postgres_server, "reader", table)


@pytest.mark.parametrize("table", ["marts.dim_users", "marts.fct_listens", "ml.user_recommendations"])
def test_the_reader_reads_the_marts_and_the_recommendations(
    postgres_server: LocalPostgres, job_env: dict[str, str], table: str
) -> None:
    assert can_select(postgres_server, "reader", table)


@pytest.mark.parametrize(("role", "table", "allowed"), [
    ("loader", "pii.users", False),
    ("loader", "marts.dim_users", False),
    ("ml", "pii.users", False),
    ("ml", "raw.listen_history", False),
    ("ml", "marts.user_track_interactions", True),
    ("pii_reader", "pii.users", True),
    ("pii_reader", "marts.dim_users", False),
    ("quality", "pii.users", True),
    ("quality", "ml.user_recommendations", False),
    # The transformer reads the published lists through ml's view of them (orchestrate/roles.sql:
    # a grant on the table would not survive the recommender's swap), and nothing else of ml.
    ("transformer", "ml.published_recommendations", True),
    ("transformer", "ml.user_recommendations", False),
    ("transformer", "ml.training_runs", False),
    ("transformer", "ml.user_index", False),
    ("reader", "ml.published_recommendations", False),
])
def test_each_role_reads_what_it_needs_only(
    postgres_server: LocalPostgres, job_env: dict[str, str], role: str, table: str, allowed: bool
) -> None:
    assert can_select(postgres_server, role, table) is allowed


def test_the_transformer_profiles_the_publication_of_the_run_and_writes_nothing_in_ml(
    postgres_server: LocalPostgres, job_env: dict[str, str]
) -> None:
    with postgres_server.connect(DATABASE) as owner:
        published = owner.execute("select count(*), max(generated_at) from ml.user_recommendations").fetchone()
        profiled = owner.execute("select recommendations, generated_at from marts.profile_published_lists").fetchall()
    assert published[0] > 0
    # The job's last step read, as the transformer, the lists its recommender had just swapped in.
    assert profiled == [published]
    with login(postgres_server, "transformer") as transformer:
        assert transformer.execute(
            "select count(*), max(generated_at) from ml.published_recommendations").fetchone() == published
        for statement in ("create table ml.not_yours (x int)", "delete from ml.user_recommendations",
                          "truncate ml.user_recommendations", "drop view ml.published_recommendations"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                transformer.execute(statement)


def test_roles_write_nowhere_else(postgres_server: LocalPostgres, job_env: dict[str, str]) -> None:
    with login(postgres_server, "quality") as quality, pytest.raises(psycopg.errors.InsufficientPrivilege):
        quality.execute("delete from marts.dim_users")
    with login(postgres_server, "reader") as reader, pytest.raises(psycopg.errors.InsufficientPrivilege):
        reader.execute("create table ml.not_yours (x int)")


def test_a_table_made_later_follows_the_same_rules(postgres_server: LocalPostgres, job_env: dict[str, str]) -> None:
    with login(postgres_server, "transformer") as transformer:
        transformer.execute("create table marts.made_later as select 1 as x")
        transformer.execute("create table pii.made_later as select 1 as x")
    try:
        assert can_select(postgres_server, "reader", "marts.made_later")
        assert not can_select(postgres_server, "reader", "pii.made_later")
        assert can_select(postgres_server, "pii_reader", "pii.made_later")
    finally:
        with login(postgres_server, "transformer") as transformer:
            transformer.execute("drop table marts.made_later, pii.made_later")


def test_a_connection_without_password_is_refused(postgres_server: LocalPostgres) -> None:
    without = {name: value for name, value in os.environ.items() if name not in ("PGPASSWORD", "PGPASSFILE")}
    for role in (postgres_server.user, *COMPONENT_ROLES):
        probe = subprocess.run(
            [str(postgres_server.bin_dir / "psql"), "-w", "-h", "127.0.0.1", "-p", str(postgres_server.port),
             "-U", role, "-d", "postgres", "-c", "select 1"],
            env={**without, "PGPASSFILE": os.devnull}, capture_output=True, text=True, check=False,
        )
        assert probe.returncode != 0 and "no password supplied" in probe.stderr, (role, probe.stderr)


def test_db_url_prints_the_owner_last_or_the_role_asked(postgres_server: LocalPostgres) -> None:
    env = {**os.environ}
    owner = subprocess.run(["make", "-s", "db-url"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.splitlines()[-1]
    reader = subprocess.run(["make", "-s", "db-url", "ROLE=reader"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, check=True).stdout.splitlines()[-1]
    assert owner.startswith(f"postgresql://{postgres_server.user}:{postgres_server.password}@127.0.0.1:")
    assert reader.startswith(f"postgresql://reader:{os.environ['WAREHOUSE_READER_PASSWORD']}@127.0.0.1:")
    with psycopg.connect(reader, autocommit=True) as connection:
        assert connection.execute("select current_user").fetchone() == ("reader",)


@pytest.fixture
def serving_api(job_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([MELTANO, "invoke", "recommender:serve", "--port", str(port)], cwd=PROJECT_ROOT,
                               env=job_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                requests.get(f"{url}/health", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
        yield url
    finally:
        stop_process(process)
        log.close()


def test_the_serving_api_reads_as_the_reader(
    postgres_server: LocalPostgres, job_env: dict[str, str], serving_api: str
) -> None:
    with postgres_server.connect(DATABASE) as owner:
        user_id = owner.execute("select min(user_id) from ml.user_recommendations").fetchone()[0]
        response = requests.get(f"{serving_api}/users/{user_id}/recommendations", timeout=30)
        assert response.status_code == 200, response.text
        assert len(response.json()["recommendations"]) == 10
        sessions = owner.execute(
            "select distinct usename from pg_stat_activity where application_name = 'moovitamix-recommendations-api'"
        ).fetchall()
    assert sessions == [("reader",)]
