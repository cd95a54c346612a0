"""`meltano run daily` as a user runs it: from a plain shell, state kept in the warehouse.

The project is copied as a clone would have it (no `.venv` or `.meltano` of its own: it
links the installed ones, with a `run/` of its own), with a `.env` for this test's
warehouse, stand-in and salt: the file `make install` writes for the local server. Then the
daily job runs with only PATH and HOME in the environment, and the warehouse, Meltano's
state and the recommendations are compared with the stand-in's truth.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from orchestrate.roles import COMPONENT_ROLES, password_variable
from tests import el_harness as el
from tests.conftest import connect, free_port, recreate_database

DATABASE = "meltano_interface"
# What a clone does not hold: the installed environments and every run's local state.
NOT_IN_A_CLONE = (".git", ".venv", ".meltano", ".env", ".pgdata*", ".bench-day", ".mlflow", ".spark", ".logs",
                  "reports", "target", "logs", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache")


def clone_of_the_project(workdir: Path) -> Path:
    project = workdir / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE), symlinks=True)
    (project / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    (project / ".meltano").symlink_to(el.private_sys_dir(workdir))
    (project / ".spark").mkdir()
    (project / ".spark" / "jars").symlink_to(PROJECT_ROOT / ".spark" / "jars")
    return project


def plain_shell(project: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`.venv/bin/meltano ARGS` in the project with nothing but PATH and HOME set."""
    return subprocess.run(
        [str(project / ".venv" / "bin" / "meltano"), *args],
        cwd=project,
        env={"PATH": os.environ["PATH"], "HOME": os.environ["HOME"]},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def project(postgres_server: LocalPostgres, tmp_path: Path) -> Iterator[tuple[Path, el.StandIn]]:
    recreate_database(postgres_server, DATABASE)
    api = el.StandIn(port=free_port(), log_path=tmp_path / "api.log", env={"MOOVITAMIX_API_RECORDS": "200"}).start()
    project = clone_of_the_project(tmp_path)
    (project / ".env").write_text(
        "\n".join([
            "WAREHOUSE_HOST=127.0.0.1",
            f"WAREHOUSE_PORT={postgres_server.port}",
            f"WAREHOUSE_USER={postgres_server.user}",
            f"WAREHOUSE_PASSWORD={os.environ['WAREHOUSE_PASSWORD']}",
            *(f"{password_variable(role)}={os.environ[password_variable(role)]}" for role in COMPONENT_ROLES),
            f"WAREHOUSE_DB={DATABASE}",
            f"TAP_MOOVITAMIX_API_URL={api.url}",
            f"PII_SALT={secrets.token_urlsafe(32)}",
        ]) + "\n"
    )
    yield project, api
    api.stop()


def test_meltano_run_daily_from_a_plain_shell_keeps_its_state_in_the_warehouse(
    postgres_server: LocalPostgres, project: tuple[Path, el.StandIn]
) -> None:
    root, api = project
    run = plain_shell(root, "run", "daily")
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]

    state = plain_shell(root, "state", "get", el.STATE_ID, timeout=120)
    assert state.returncode == 0, state.stderr[-2000:]
    bookmarks = json.loads(state.stdout.strip().splitlines()[-1])["singer_state"]["bookmarks"]
    assert set(bookmarks) >= set(el.STREAMS)
    assert all(bookmarks[stream]["source"] == api.url for stream in el.STREAMS)
    expected = el.truth(api.settings)
    with connect(postgres_server, DATABASE) as warehouse:
        stored = warehouse.execute("select state_id from meltano.state").fetchall()
        assert (el.STATE_ID,) in stored, "Meltano's state is not in the warehouse's schema meltano"
        el.assert_raw_equals(warehouse, expected)
        el.assert_bookmarks_not_ahead(warehouse, expected)
        users, unserved = warehouse.execute(
            "select count(*), count(*) filter (where not exists (select from ml.user_recommendations r"
            " where r.user_id = u.user_id)) from marts.dim_users u"
        ).fetchone()
    assert users == len(expected["users"]) and unserved == 0
    assert not (root / ".meltano" / "meltano.db").exists(), "a system database beside the code"
