"""Faults around the extract-load, on the real stand-in and the real local Postgres: each
scenario ends with a normal rerun and an exact comparison of the warehouse with the
stand-in's truth, the ledger's statuses and the alerts sent."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from api.settings import load_settings
from local.postgres import LocalPostgres
from orchestrate.job_definition import job_tasks
from orchestrate.project import PROJECT_ROOT
from tests import el_harness as el
from tests.conftest import AlertReceiver, run_daily, wait_for

EXTRACT_LOAD = next(task for task in job_tasks() if task.startswith("tap-"))


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
    assert_warehouse_is_the_truth(postgres_server, env)
    print(f"outcome: the run under the restart ended {first} ({len(alert_receiver.bodies)} alert(s) in all);"
          " the rerun succeeded; the warehouse equals the stand-in's truth")


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


def step_running(server: LocalPostgres, env: dict[str, str], run_id: str, step: str) -> bool:
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        if connection.execute("select to_regclass('ops.pipeline_steps') is null").fetchone()[0]:
            return False  # the run has not reached its ledger yet
        return connection.execute(
            "select exists (select from ops.pipeline_steps where run_id = %s and step = %s and status = 'running')",
            (run_id, step),
        ).fetchone()[0]


@pytest.mark.parametrize(("step", "marker"), [
    ("dbt_postgres_build", ""),
    # The recommender's gate decided: what follows is the publication of the lists.
    ("recommender_run", "event=gate"),
])
def test_the_whole_run_killed_during_a_step(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver, step: str, marker: str
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    log = Path(env["RUN_LOG_DIR"]) / "daily-fault-kill.log"
    run = subprocess.Popen([sys.executable, "-m", "local.run", "--run-id", "fault-kill"], cwd=PROJECT_ROOT,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(lambda: step_running(postgres_server, env, "fault-kill", step)
             and marker in log.read_text(errors="replace"), 600)
    os.killpg(run.pid, signal.SIGKILL)  # the supervisor, Meltano, the step, the stand-in at once
    run.wait(timeout=30)

    rerun = run_daily(env, "--run-id", "fault-rerun")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert statuses(postgres_server, env) == {"fault-kill": "aborted", "fault-rerun": "success"}
    about_the_killed_run = [body["text"] for body in alert_receiver.bodies if "fault-kill" in body["text"]]
    assert about_the_killed_run == [
        "MooVitamix daily run fault-kill: ABORTED — killed before it could finish (found by run fault-rerun)"]
    assert_warehouse_is_the_truth(postgres_server, env)
    print("outcome: the killed run was marked aborted and alerted once by the rerun, which succeeded;"
          " the warehouse equals the stand-in's truth")


def started_mid_step(env: dict[str, str], run_id: str) -> subprocess.Popen[bytes]:
    """The whole job as `make run` runs it, its own process group, once its extract-load is
    reading a slow API (every request answers after 8 s)."""
    slow = {**env, "MOOVITAMIX_API_FAULT_SLOW_RATE": "1", "MOOVITAMIX_API_SLOW_SECONDS": "8"}
    log = Path(env["RUN_LOG_DIR"]) / f"daily-{run_id}.log"
    process = subprocess.Popen([sys.executable, "-m", "local.run", "--run-id", run_id], cwd=PROJECT_ROOT, env=slow,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wait_for(lambda: log.exists() and "Beginning sync" in log.read_text(errors="replace"), 120)
    return process


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


def test_a_sigterm_stops_the_run_cleanly_aborted_and_alerted(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    run = started_mid_step(env, "ops-term-1")
    os.kill(run.pid, signal.SIGTERM)  # the supervisor alone, as a scheduler's timeout does
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 1
    assert "error: stopped by signal SIGTERM" in stderr.decode()
    wait_for(lambda: not group_members(run.pid), 30)
    with postgres_server.connect(ops_env["WAREHOUSE_DB"]) as connection:
        assert connection.execute("select status, error from ops.pipeline_runs").fetchall() == [
            ("aborted", "stopped by signal SIGTERM")]
        # The step it was in ends aborted too (the guard before it had succeeded).
        assert connection.execute(
            "select task, status from ops.pipeline_steps where status <> 'success'").fetchall() == [
            (EXTRACT_LOAD, "aborted")]
    [alert] = alert_receiver.bodies
    assert alert["text"] == "MooVitamix daily run ops-term-1: ABORTED — stopped by signal SIGTERM"


def test_a_supervisor_killed_alone_leaves_nothing_running_and_the_next_run_alerts(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    run = started_mid_step(env, "ops-sigkill-1")
    os.kill(run.pid, signal.SIGKILL)  # not its group: its children must go by themselves
    run.wait(timeout=30)
    wait_for(lambda: not group_members(run.pid), 60)
    # The stand-in's port is free: the next run starts its own stand-in there.
    following = run_daily(env, "--task", EXTRACT_LOAD, "--run-id", "ops-after-sigkill")
    assert following.returncode == 0, following.stdout[-3000:] + following.stderr[-3000:]
    with postgres_server.connect(ops_env["WAREHOUSE_DB"]) as connection:
        statuses = dict(connection.execute("select run_id, status from ops.pipeline_runs").fetchall())
    assert statuses == {"ops-sigkill-1": "aborted", "ops-after-sigkill": "success"}
    [alert] = alert_receiver.bodies
    assert alert["text"] == ("MooVitamix daily run ops-sigkill-1: ABORTED — killed before it could finish"
                             " (found by run ops-after-sigkill)")



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


def test_the_recommender_killed_as_the_out_of_memory_killer_does(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    run = subprocess.Popen([sys.executable, "-m", "local.run", "--run-id", "fault-oom"], cwd=PROJECT_ROOT,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    log = Path(env["RUN_LOG_DIR"]) / "daily-fault-oom.log"
    # Once Spark has read the interactions, as a memory-hungry step would be killed.
    wait_for(lambda: step_running(postgres_server, env, "fault-oom", "recommender_run")
             and "event=retrain_decision" in log.read_text(errors="replace")
             and recommender_process(run.pid) is not None, 600)
    os.kill(recommender_process(run.pid), signal.SIGKILL)  # that process alone, as the kernel does
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, stderr.decode()[-3000:]
    with postgres_server.connect(env["WAREHOUSE_DB"]) as connection:
        status, error = connection.execute(
            "select status, error from ops.pipeline_runs where run_id = 'fault-oom'").fetchone()
    assert status == "failed"
    assert error.startswith("recommender:run was killed (recommender run by SIGKILL"), error
    # The recommender's Python and Spark's JVM under it weigh far more than nothing.
    assert int(re.search(r"peak memory of the step's processes (\d+) MB", error).group(1)) > 200
    assert [body["text"] for body in alert_receiver.bodies] == [f"MooVitamix daily run fault-oom: FAILED — {error}"]

    rerun = run_daily(env, "--run-id", "fault-rerun")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert_warehouse_is_the_truth(postgres_server, env)
    print(f"outcome: {error}; the rerun trained and published; the warehouse equals the stand-in's truth")


def test_the_api_down_for_a_whole_run_then_back_the_next_day(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    with socket.socket() as closed:  # a port nobody listens on: the API is down
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}"
    first = run_daily({**env, "MOOVITAMIX_API_URL": down}, "--run-id", "fault-api-down")
    assert first.returncode == 1
    [error] = [line for line in first.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: the MooVitamix API at {down} is unreachable")
    assert statuses(postgres_server, env) == {"fault-api-down": "failed"}
    assert [body["text"] for body in alert_receiver.bodies] == [
        f"MooVitamix daily run fault-api-down: FAILED — {error.removeprefix('error: ')}"]

    back = run_daily(env, "--run-id", "fault-api-back")  # the next day: the stand-in answers
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    assert statuses(postgres_server, env) == {"fault-api-down": "failed", "fault-api-back": "success"}
    assert_warehouse_is_the_truth(postgres_server, env)
    print("outcome: the run against the API down failed before any step with one line and one alert;"
          " the next run read everything; the warehouse equals the stand-in's truth")
