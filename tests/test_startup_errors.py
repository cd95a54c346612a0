"""Start-up problems give one clear line each, before anything runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.project import PROJECT_ROOT
from tests.conftest import free_port, job_environment


def run_daily_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_api_port_in_use(postgres_server, tmp_path: Path, occupied_port: int) -> None:
    env = {**job_environment(tmp_path, "postgres"), "MOOVITAMIX_API_PORT": str(occupied_port)}
    result = run_daily_with(env)
    assert result.returncode == 1
    assert error_lines(result) == [
        f"error: port {occupied_port} on 127.0.0.1 is already in use "
        "(set MOOVITAMIX_API_PORT, or set MOOVITAMIX_API_URL to use that server)"
    ]


@pytest.mark.parametrize("salt", [None, "", "change-me-too"])
def test_a_prod_run_without_a_real_salt_stops_before_any_step(tmp_path: Path, salt: str | None) -> None:
    # The project's .env holds a salt for dev: a prod run must not pick it up.
    env = {**job_environment(tmp_path, "postgres"), "MELTANO_ENVIRONMENT": "prod", "WAREHOUSE_PASSWORD": "x"}
    env.pop("PII_SALT", None)
    if salt is not None:
        env["PII_SALT"] = salt
    result = run_daily_with(env)
    assert result.returncode == 1
    expected = ("error: PII_SALT is shorter than 32 characters: not a production salt" if salt
                else "error: PII_SALT is not set: a prod run takes it from its secret store")
    assert error_lines(result) == [expected]
    assert "event=step.start" not in result.stderr


def test_api_unreachable_names_the_url(postgres_server, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_daily_with({**job_environment(tmp_path, "postgres"), "MOOVITAMIX_API_URL": url})
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith(f"error: the MooVitamix API at {url} is unreachable")


def test_warehouse_port_in_use(tmp_path: Path, occupied_port: int) -> None:
    env = {
        **job_environment(tmp_path, "postgres"),
        "WAREHOUSE_PORT": str(occupied_port),
        "WAREHOUSE_DATA_DIR": str(tmp_path / "pgdata"),
    }
    result = run_daily_with(env)
    assert result.returncode == 1
    assert error_lines(result) == [
        f"error: port {occupied_port} on 127.0.0.1 is already in use (set WAREHOUSE_PORT to a free port)"
    ]


def test_postgres_that_cannot_start(tmp_path: Path) -> None:
    env = {
        **job_environment(tmp_path, "postgres"),
        "WAREHOUSE_PORT": str(free_port()),
        "WAREHOUSE_DATA_DIR": str(tmp_path / "pgdata"),
        "PG_BIN": str(tmp_path / "no-such-bin"),
    }
    result = run_daily_with(env)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "PostgreSQL server binaries not found" in line


def test_missing_java(tmp_path: Path) -> None:
    env = {**job_environment(tmp_path, "postgres"), "PATH": str(tmp_path)}
    env.pop("JAVA_HOME", None)
    result = run_daily_with(env)
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith("error: Java not found")
    assert os.environ.get("PATH")  # the test's own PATH is untouched
