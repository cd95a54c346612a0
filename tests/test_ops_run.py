"""The daily run watches itself: ledger rows and figures (also when a step fails), the
alert of a failed run delivered to a local receiver, progress and JSON logs, one run at
a time, and a killed run that does not block the next one.

These run `python -m local.run --task "tap-moovitamix target-postgres"` (`make run` of the
extract-load task of the job, as an orchestrator calls it) on 200 records: the whole job is
covered by tests/test_daily_job.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from local.postgres import LocalPostgres
from local.webhook import AlertReceiver
from orchestrate.job_definition import job_tasks
from orchestrate.ledger import APPLICATION_PREFIX, LOCK_KEY
from orchestrate.project import PROJECT_ROOT
from orchestrate.run_daily import EXIT_LOCKED
from tests.conftest import wait_for

EXTRACT_LOAD = next(task for task in job_tasks() if task.startswith("tap-"))


def run_daily(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run", "--task", EXTRACT_LOAD, *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def ledger(server: LocalPostgres, env: dict[str, str]) -> psycopg.Connection:
    return server.connect(env["WAREHOUSE_DB"])


def test_a_step_records_its_figures_shows_progress_and_logs_json(
    postgres_server: LocalPostgres, ops_env: dict[str, str]
) -> None:
    result = run_daily(ops_env, "--run-id", "ops-figures-1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with ledger(postgres_server, ops_env) as connection:
        run = connection.execute(
            "select status, error from ops.pipeline_runs where run_id = 'ops-figures-1'"
        ).fetchone()
        step = connection.execute(
            "select step, status, exit_code, duration_s from ops.pipeline_steps where run_id = 'ops-figures-1'"
        ).fetchone()
        figures = dict(((s, m), v) for s, m, v in connection.execute(
            "select subject, metric, value from ops.pipeline_figures where run_id = 'ops-figures-1'"
        ))
    assert run == ("success", None)
    assert step[:3] == ("tap_moovitamix_target_postgres", "success", 0) and step[3] > 0
    for stream in ("tracks", "users", "listen_history"):
        assert figures[(stream, "records_read")] == 200
        assert figures[(stream, "records_loaded")] == 200
        assert figures[(f"raw.{stream}", "rows")] == 200
    # Progress on the console: which step, and how far each stream is.
    assert f"▶ step {job_tasks().index(EXTRACT_LOAD) + 1} {EXTRACT_LOAD}" in result.stdout
    assert "tracks: 200 rows loaded" in result.stdout
    assert "tap_moovitamix_target_postgres   success" in result.stdout
    # The run's structured log: JSON lines, every one with the run id.
    json_log = Path(ops_env["RUN_LOG_DIR"]) / "daily-ops-figures-1.jsonl"
    records = [json.loads(line) for line in json_log.read_text().splitlines()]
    assert {r["run_id"] for r in records} == {"ops-figures-1"}
    assert [r["event"] for r in records if r["event"].startswith("step.")] == ["step.start", "step.end"]
    # Every output line of the step too, tagged with its step and plugin.
    tap_lines = [r for r in records if r["event"] == "output" and r["plugin"] == "tap-moovitamix"]
    assert tap_lines and {r["step"] for r in tap_lines} == {"tap_moovitamix_target_postgres"}
    assert any(r["message"].startswith("event=stream_complete stream=tracks") for r in tap_lines)


def test_a_failed_step_is_recorded_and_alerted_with_its_error(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    # page_size 1000 is outside the tap's 1..100: the tap refuses its config and exits 1.
    env = {**ops_env, "TAP_MOOVITAMIX_PAGE_SIZE": "1000", "ALERT_WEBHOOK_URL": alert_receiver.url}
    result = run_daily(env, "--run-id", "ops-failed-1")
    assert result.returncode == 1
    assert "daily run: FAILED" in result.stdout
    with ledger(postgres_server, ops_env) as connection:
        run = connection.execute(
            "select status, failed_step, error, finished_at is not null from ops.pipeline_runs"
            " where run_id = 'ops-failed-1'"
        ).fetchone()
        step = connection.execute(
            "select status, exit_code, error from ops.pipeline_steps where run_id = 'ops-failed-1'"
        ).fetchone()
        breached = connection.execute(
            "select metric from ops.pipeline_health where run_id = 'ops-failed-1' and breached"
        ).fetchall()
    assert run[0] == "failed" and run[1] == "tap_moovitamix_target_postgres" and run[3]
    assert step[0] == "failed" and step[1] != 0 and step[2].startswith(f"{EXTRACT_LOAD} exited with code")
    assert ("run_status",) in breached
    # One alert, Slack-compatible, naming the run and its error.
    assert len(alert_receiver.bodies) == 1
    body = alert_receiver.bodies[0]
    assert body["text"].startswith("MooVitamix daily run ops-failed-1: FAILED") and run[2] in body["text"]
    assert "event=alert.delivered" in result.stderr


def test_an_undeliverable_alert_does_not_hide_the_run_error(ops_env: dict[str, str]) -> None:
    env = {**ops_env, "TAP_MOOVITAMIX_PAGE_SIZE": "1000", "ALERT_WEBHOOK_URL": "http://127.0.0.1:9/nothing",
           "ALERT_RETRIES": "1"}
    result = run_daily(env, "--run-id", "ops-failed-2")
    assert result.returncode == 1  # the run's own failure, not the alert's
    assert "event=alert.undelivered" in result.stderr
    assert "event=step.end" in result.stderr and "exit_code=1" in result.stderr
    assert "daily run: FAILED" in result.stdout


def test_a_second_run_refuses_while_one_holds_the_lock(
    postgres_server: LocalPostgres, ops_env: dict[str, str]
) -> None:
    with psycopg.connect(host="127.0.0.1", port=postgres_server.port, user=postgres_server.user,
                         password=postgres_server.password, dbname=ops_env["WAREHOUSE_DB"], autocommit=True,
                         application_name=f"{APPLICATION_PREFIX}the-first-run") as first:
        assert first.execute("select pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)).fetchone()[0]
        refused = run_daily(ops_env)
    assert refused.returncode == EXIT_LOCKED
    assert "run the-first-run" in refused.stderr and "still running the daily job" in refused.stderr
    assert "event=step.start" not in refused.stderr  # refused before any step
    assert "event=api.stopped" in refused.stderr  # and the stand-in started for it is gone


def test_a_killed_run_does_not_block_the_next_one(postgres_server: LocalPostgres, ops_env: dict[str, str]) -> None:
    # Every API request answers after 8 s (under the probe's and the tap's timeouts): the run is
    # surely mid-step when it is killed.
    slow = {**ops_env, "MOOVITAMIX_API_FAULT_SLOW_RATE": "1", "MOOVITAMIX_API_SLOW_SECONDS": "8"}
    log = Path(ops_env["RUN_LOG_DIR"]) / "daily-ops-killed-1.log"
    killed = subprocess.Popen(  # the whole job, as `make run` runs it
        [sys.executable, "-m", "local.run", "--run-id", "ops-killed-1"],
        cwd=PROJECT_ROOT, env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_for(lambda: log.exists() and "Beginning sync" in log.read_text(errors="replace"), 120)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the whole run at once: run_daily, Meltano, tap, stand-in
        killed.wait(timeout=30)
    # At once, not 5 minutes later: the lock died with its session, Meltano's stale run is forced.
    following = run_daily(ops_env, "--run-id", "ops-after-kill")
    assert following.returncode == 0, following.stdout[-3000:] + following.stderr[-3000:]
    with ledger(postgres_server, ops_env) as connection:
        statuses = dict(connection.execute("select run_id, status from ops.pipeline_runs").fetchall())
    assert statuses == {"ops-killed-1": "aborted", "ops-after-kill": "success"}


def test_make_run_prints_where_the_report_is(ops_env: dict[str, str]) -> None:
    result = run_daily(ops_env, "--run-id", "ops-report-1")
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("  health report ") and Path(last.split()[-1]).is_file()
    assert Path(ops_env["REPORT_PATH"]).read_text().count("ops-report-1") >= 1


@pytest.mark.parametrize(("variable", "value"), [("OPS_MAX_RETRIES", "abc"), ("ALERT_RETRIES", "-1"),
                                                 ("MOOVITAMIX_API_PORT", "abc")])
def test_a_wrong_setting_stops_the_run_in_one_line_with_an_alert(
    ops_env: dict[str, str], alert_receiver: AlertReceiver, variable: str, value: str
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url, variable: value}
    result = subprocess.run([sys.executable, "-m", "orchestrate.run_daily", "--run-id", "ops-setting-1"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {variable}={value!r} is not allowed: it must be")
    assert "Traceback" not in result.stderr
    [alert] = alert_receiver.bodies
    assert f"{variable}={value!r} is not allowed" in alert["text"]
