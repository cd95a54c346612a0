"""What every fault scenario needs: start the job as `make run` does, watch where it is,
and, after the rerun, compare the warehouse with the stand-in's truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.stand_in.settings import load_settings
from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from tests import el_harness as el
from tests.conftest import wait_for


def start_run(env: dict[str, str], run_id: str) -> subprocess.Popen[bytes]:
    """The whole job as `make run` runs it (the warehouse, the stand-in, the supervisor),
    in a process group of its own so a scenario can kill all of it at once."""
    return subprocess.Popen([sys.executable, "-m", "local.run", "--run-id", run_id], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def run_log(env: dict[str, str], run_id: str) -> Path:
    return Path(env["RUN_LOG_DIR"]) / f"daily-{run_id}.log"


def logged(env: dict[str, str], run_id: str, marker: str) -> bool:
    log = run_log(env, run_id)
    return log.exists() and marker in log.read_text(errors="replace")


def statuses(server: LocalPostgres, env: dict[str, str]) -> dict[str, str]:
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        return dict(connection.execute("select run_id, status from ops.pipeline_runs").fetchall())


def step_running(server: LocalPostgres, env: dict[str, str], run_id: str, step: str) -> bool:
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        if connection.execute("select to_regclass('ops.pipeline_steps') is null").fetchone()[0]:
            return False  # the run has not reached its ledger yet
        return connection.execute(
            "select exists (select from ops.pipeline_steps where run_id = %s and step = %s and status = 'running')",
            (run_id, step),
        ).fetchone()[0]


def wait_for_step(server: LocalPostgres, env: dict[str, str], run_id: str, step: str, marker: str = "",
                  timeout: float = 600) -> None:
    """Until the run is inside `step` and its log shows `marker` (a point within the step)."""
    wait_for(lambda: step_running(server, env, run_id, step) and logged(env, run_id, marker), timeout)


def assert_warehouse_is_the_truth(server: LocalPostgres, env: dict[str, str]) -> None:
    """raw equals what the stand-in serves, field for field (no missing, duplicate or stale
    record), and every user has a full list of recommendations, none already heard."""
    truth = el.truth(load_settings({"MOOVITAMIX_API_RECORDS": env["MOOVITAMIX_API_RECORDS"]}))
    with server.connect(env["WAREHOUSE_DB"]) as warehouse:
        el.assert_raw_equals(warehouse, truth)
        users, short, heard = warehouse.execute(
            "select (select count(*) from marts.dim_users),"
            " (select count(*) from marts.dim_users u where (select count(*) from ml.user_recommendations r"
            "   where r.user_id = u.user_id) <> 10),"
            " (select count(*) from ml.user_recommendations r join marts.user_track_interactions i"
            "   using (user_id, track_id))"
        ).fetchone()
    assert (users, short, heard) == (len(truth["users"]), 0, 0)


def group_members(group: int) -> list[str]:
    """The processes still in a process group (their command lines)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                members.append((stat.parent / "cmdline").read_text().replace("\0", " ")[:120])
        except (OSError, IndexError, ValueError):
            continue
    return members


def recommender_process(group: int) -> int | None:
    """The recommender's own process in the run's process group, once it runs."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_text().split("\0")
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and any(part.endswith("moovitamix-ml") for part in command):
            return int(stat.parent.name)
    return None
