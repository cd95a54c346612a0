"""Kills and signals: the whole run killed inside a step, the supervisor stopped by
SIGTERM or killed alone, the recommender killed as the out-of-memory killer does. Each
ends with a normal rerun and the warehouse compared with the stand-in's truth."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from local.postgres import LocalPostgres
from local.webhook import AlertReceiver
from orchestrate.job_definition import job_tasks
from tests.conftest import run_daily, wait_for
from tests.faults.harness import (
    assert_warehouse_is_the_truth,
    group_members,
    logged,
    recommender_process,
    start_run,
    statuses,
    wait_for_step,
)

EXTRACT_LOAD = next(task for task in job_tasks() if task.startswith("tap-"))


def started_mid_step(env: dict[str, str], run_id: str) -> subprocess.Popen[bytes]:
    """The whole job, once its extract-load is reading a slow API (each request answers after 8 s)."""
    run = start_run({**env, "MOOVITAMIX_API_FAULT_SLOW_RATE": "1", "MOOVITAMIX_API_SLOW_SECONDS": "8"}, run_id)
    wait_for(lambda: logged(env, run_id, "Beginning sync"), 120)
    return run


@pytest.mark.parametrize(("step", "marker"), [
    ("dbt_postgres_build", ""),
    # The recommender's gate decided: what follows is the publication of the lists.
    ("recommender_run", "event=gate"),
])
def test_the_whole_run_killed_during_a_step(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver, step: str, marker: str
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    run = start_run(env, "fault-kill")
    wait_for_step(postgres_server, env, "fault-kill", step, marker)
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
    assert statuses(postgres_server, env) == {"ops-sigkill-1": "aborted", "ops-after-sigkill": "success"}
    [alert] = alert_receiver.bodies
    assert alert["text"] == ("MooVitamix daily run ops-sigkill-1: ABORTED — killed before it could finish"
                             " (found by run ops-after-sigkill)")


def test_the_recommender_killed_as_the_out_of_memory_killer_does(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    run = start_run(env, "fault-oom")
    # Once Spark has read the interactions, as a memory-hungry step would be killed.
    wait_for_step(postgres_server, env, "fault-oom", "recommender_run", "event=retrain_decision")
    wait_for(lambda: recommender_process(run.pid) is not None, 60)
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
