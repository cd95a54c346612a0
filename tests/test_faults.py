"""Faults around the extract-load, on the real stand-in and the real local Postgres: each
scenario ends with a normal rerun and an exact comparison of the warehouse with the
stand-in's truth, the ledger's statuses and the alerts sent."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.settings import load_settings
from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from tests import el_harness as el
from tests.conftest import AlertReceiver, run_daily


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"condition not met within {timeout} s")


def statuses(server: LocalPostgres, env: dict[str, str]) -> dict[str, str]:
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        return dict(connection.execute("select run_id, status from ops.pipeline_runs").fetchall())


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_during_the_extract_load(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver, mode: str
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    slow = {**env, "MOOVITAMIX_API_FAULT_SLOW_RATE": "1", "MOOVITAMIX_API_SLOW_SECONDS": "4"}
    log = Path(env["RUN_LOG_DIR"]) / "daily-fault-restart.log"
    run = subprocess.Popen([sys.executable, "-m", "local.run", "--run-id", "fault-restart"], cwd=PROJECT_ROOT,
                           env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wait_for(lambda: log.exists() and "Beginning sync" in log.read_text(errors="replace"), 120)
    # -l: the restarted server writes its log there, not into this test's pipe.
    restarted = postgres_server._run("pg_ctl", "restart", "-D", str(postgres_server.cluster_dir), "-m", mode, "-w",
                                     "-l", str(postgres_server.log_file))
    assert restarted.returncode == 0, restarted.stderr
    _, stderr = run.communicate(timeout=900)

    # Whatever the restart did to the step, the run's ledger row says it, and only one alert
    # if it failed (a run that rode it out alerts nothing, or for thresholds only).
    first = statuses(postgres_server, env)["fault-restart"]
    assert first == ("success" if run.returncode == 0 else "failed"), stderr.decode()[-3000:]
    if run.returncode != 0:
        assert [body["text"].split(":")[0] for body in alert_receiver.bodies] == [
            "MooVitamix daily run fault-restart"]

    rerun = run_daily(env, "--run-id", "fault-rerun")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert statuses(postgres_server, env) == {"fault-restart": first, "fault-rerun": "success"}
    truth = el.truth(load_settings({"MOOVITAMIX_API_RECORDS": env["MOOVITAMIX_API_RECORDS"]}))
    with postgres_server.connect(env["WAREHOUSE_DB"]) as warehouse:
        el.assert_raw_equals(warehouse, truth)
        users, unserved = warehouse.execute(
            "select count(*), count(*) filter (where not exists (select from ml.user_recommendations r"
            " where r.user_id = u.user_id)) from marts.dim_users u"
        ).fetchone()
    assert users == len(truth["users"]) and unserved == 0
