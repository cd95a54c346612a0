"""Fixtures shared by the cross-cutting tests: a real Postgres and helpers to run the job.

`make test` starts a Postgres instance of its own (port TEST_WAREHOUSE_PORT, data in
.pgdata-test) and exports WAREHOUSE_PORT / WAREHOUSE_DATA_DIR for it; run directly, these
tests start (and stop) that instance themselves. Each test module works in a database of
its own, so nothing here touches the data of `make run`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from orchestrate.local_postgres import PROJECT_ROOT, LocalPostgres

os.environ.setdefault("WAREHOUSE_PORT", "5434")
os.environ.setdefault("WAREHOUSE_DATA_DIR", str(PROJECT_ROOT / ".pgdata-test"))
os.environ.setdefault("WAREHOUSE_HOST", "127.0.0.1")
os.environ.setdefault("WAREHOUSE_USER", "moovitamix")
os.environ.setdefault("WAREHOUSE_PASSWORD", "local-dev-only")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    server = LocalPostgres.from_env()
    started_here = not server.is_running()
    server.start()
    yield server
    if started_here:
        server.stop()


def connect(server: LocalPostgres, database: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=server.port, user=server.user, dbname=database, autocommit=True)


def recreate_database(server: LocalPostgres, database: str) -> None:
    with connect(server, "postgres") as admin:
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.execute(f'create database "{database}"')


def job_environment(tmp_path: Path, database: str) -> dict[str, str]:
    """Everything a run writes goes to this test's database and tmp dir, never to `make run`'s."""
    env = {
        **os.environ,
        "WAREHOUSE_DB": database,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "MLFLOW_ARTIFACT_ROOT": str(tmp_path / "mlflow-artifacts"),
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "MOOVITAMIX_API_PORT": str(free_port()),
        "SODA_CORE_TELEMETRY_ENABLED": "false",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("MOOVITAMIX_API_URL", None)
    return env


def run_daily(env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrate.run_daily"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
