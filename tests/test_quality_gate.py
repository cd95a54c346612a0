"""The quality gate stops the job: bad data in the warehouse never reaches the model.

The warehouse is loaded and built by the real pipeline, corrupted on purpose, then the
tail of the `daily` job runs (`soda:verify-all recommender:run`): a failing gate must
make it exit non-zero before the recommender writes anything; a warning must not.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from tests.conftest import connect, free_port, job_environment, recreate_database
from tests.el_harness import MELTANO, StandIn, pipeline_env, private_sys_dir

DATABASE = "test_quality_gate"
RECORDS = "200"


def meltano(env: dict[str, str], *tasks: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MELTANO, "run", *tasks], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def built_env(postgres_server: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A warehouse loaded from the stand-in and built by dbt, and the env to run the job's tail."""
    workdir = tmp_path_factory.mktemp("quality-gate")
    recreate_database(postgres_server, DATABASE)
    stand_in = StandIn(port=free_port(), log_path=workdir / "api.log", env={"MOOVITAMIX_API_RECORDS": RECORDS}).start()
    try:
        env = pipeline_env(job_environment(workdir, DATABASE), stand_in.url)
        env["MELTANO_SYS_DIR_ROOT"] = str(private_sys_dir(workdir))
        loaded = meltano(env, "tap-moovitamix", "target-postgres", "dbt-postgres:build")
        assert loaded.returncode == 0, loaded.stdout[-3000:] + loaded.stderr[-3000:]
    finally:
        stand_in.stop()
    yield env


@pytest.fixture
def warehouse(postgres_server: LocalPostgres, built_env) -> Iterator[psycopg.Connection]:
    with connect(postgres_server, DATABASE) as connection:
        yield connection


def recommendations_published(connection: psycopg.Connection) -> bool:
    # The table is there from the start (orchestrate/migrations/ml.sql): published means rows.
    return connection.execute("select exists (select from ml.user_recommendations)").fetchone()[0]


def test_a_failing_gate_stops_the_job_before_the_model(
    built_env: dict[str, str], warehouse: psycopg.Connection, tmp_path: Path
) -> None:
    # A bad email breaks the pseudonymous key's input: a gate on pii.users.
    warehouse.execute(
        "update pii.users set email = 'not-an-email' where user_id = (select min(user_id) from pii.users)"
    )
    result = meltano(built_env, "soda:verify-all", "recommender:run")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "pii/users: FAILED" in output
    # The recommender never started: it would log its decision (event=run_complete) whatever it decided.
    assert "event=run_complete" not in output
    assert not recommendations_published(warehouse)
    assert not Path(built_env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")).exists()
