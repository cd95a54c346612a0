"""Fixtures shared by the cross-cutting tests: a real Postgres and helpers to run the job.

`make test` starts a Postgres instance of its own (port TEST_WAREHOUSE_PORT, data in
.pgdata-test) and exports WAREHOUSE_PORT / WAREHOUSE_DATA_DIR for it; run directly, these
tests start (and stop) that instance themselves. Each test module works in a database of
its own, so nothing here touches the data of `make run`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from local.ports import free_port, free_port_in
from local.postgres import LocalPostgres
from local.webhook import alert_receiver  # noqa: F401 (a fixture of these tests)
from orchestrate.project import PROJECT_ROOT, load_dotenv

os.environ.setdefault("WAREHOUSE_PORT", "5434")
os.environ.setdefault("WAREHOUSE_DATA_DIR", str(PROJECT_ROOT / ".pgdata-test"))
# The rest (owner, passwords of the roles, salt) as `make install` wrote them for this machine.
load_dotenv()
# The operations tests' stand-ins; their alert receivers take the next range (local/webhook.py).
STAND_IN_PORTS = (8300, 8349)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    server = LocalPostgres.from_env()
    started_here = not server.is_running()
    server.start()
    yield server
    if started_here:
        server.stop()


def connect(server: LocalPostgres, database: str) -> psycopg.Connection:
    return server.connect(database)


def recreate_database(server: LocalPostgres, database: str) -> None:
    """An empty database, ready for Meltano (its system database lives in the warehouse)."""
    server.fresh_database(database)


def job_environment(tmp_path: Path, database: str) -> dict[str, str]:
    """Everything a run writes goes to this test's database and tmp dir, never to `make run`'s."""
    env = {
        **os.environ,
        "WAREHOUSE_DB": database,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "MLFLOW_ARTIFACT_ROOT": str(tmp_path / "mlflow-artifacts"),
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "MOOVITAMIX_API_PORT": str(free_port()),
        "SODA_CORE_TELEMETRY_ENABLED": "false",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("MOOVITAMIX_API_URL", None)
    return env


def run_daily(env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"condition not met within {timeout} s")


@pytest.fixture
def ops_env(postgres_server: LocalPostgres, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """A job env for the operations tests: own database (named after the test), own
    Meltano system dir, small stand-in data, fast tap retries, report and logs in tmp."""
    from tests.el_harness import private_sys_dir

    database = "ops_" + request.node.name.lower()[:40].replace("[", "_").replace("]", "").replace("-", "_")
    recreate_database(postgres_server, database)
    env = job_environment(tmp_path, database)
    env.update(
        MELTANO_SYS_DIR_ROOT=str(private_sys_dir(tmp_path)),
        MOOVITAMIX_API_RECORDS="200",
        TAP_MOOVITAMIX_BACKOFF_BASE_SECONDS="0.05",
        TAP_MOOVITAMIX_BACKOFF_MAX_SECONDS="2",
        REPORT_PATH=str(tmp_path / "health.html"),
        RUN_LOG_DIR=str(tmp_path / "logs"),
        ALERT_BACKOFF_SECONDS="0.05",
        MOOVITAMIX_API_PORT=str(free_port_in(*STAND_IN_PORTS)),
    )
    for leaked in ("ALERT_WEBHOOK_URL", "LOG_FORMAT", "MELTANO_ENVIRONMENT"):
        env.pop(leaked, None)
    return env
