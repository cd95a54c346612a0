"""A full disk: the one of the logs and the run folder, then the warehouse's (its
database in a tablespace). Each is a tmpfs of its own that fills during a run: the run
fails cleanly, alerts once, publishes nothing half; once the space is back, the next run
succeeds and the warehouse equals the stand-in's truth. Mounting needs root."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg import sql

from local.postgres import LocalPostgres
from local.webhook import AlertReceiver
from orchestrate.job_definition import job_tasks, step_name
from tests.conftest import run_daily, wait_for
from tests.faults.harness import assert_warehouse_is_the_truth, group_members, start_run, statuses

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root, and this runner is not root")

STEPS = [step_name(task) for task in job_tasks()]
EXTRACT_LOAD = next(step for step in STEPS if step.startswith("tap_"))
DBT_BUILD = step_name("dbt-postgres:build")
MiB = 2**20
# What the logs' disk keeps free for the run: its first lines (~3 KB up to the extract-load)
# fit, the extract-load's output (~22 KB at 200 records) does not.
LOG_ROOM = 16 * 1024
# Room the database gets beyond what it holds before the run (~7.9 MB, its catalog): its
# extract-load takes ~1 MB (raw, the ledger, Meltano's state), its dbt build ~3 MB more;
# so the build fills it, and its failed statement gives its space back at once.
DATABASE_ROOM = int(2.5 * MiB)


@contextmanager
def tmpfs(mount_point: Path, size: int, options: str = "") -> Iterator[Path]:
    """A tmpfs of `size` bytes on `mount_point` for the block; unmounted after, whatever happens."""
    mount_point.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "fault-full-disk", str(mount_point)],
                   check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def resize(disk: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


def used(disk: Path) -> int:
    stats = os.statvfs(disk)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def fill_leaving(disk: Path, room: int) -> Path:
    """A file that takes all of `disk` but `room` bytes."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler = disk / "filler"
    with filler.open("wb") as file:
        os.posix_fallocate(file.fileno(), 0, free - room)
    return filler


def alerts_about(receiver: AlertReceiver, run_id: str) -> list[str]:
    return [body["text"] for body in receiver.bodies if f" {run_id}: " in body["text"]]


def recommendations_published(server: LocalPostgres, env: dict[str, str]) -> bool:
    # The table is there from the start (orchestrate/migrations/ml.sql): published means rows.
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        return connection.execute("select exists (select from ml.user_recommendations)").fetchone()[0]


def stopped_at(step: str) -> list[tuple[str, str]]:
    """The steps of a job that failed at `step`: those before it succeeded, none ran after it."""
    return [(before, "success") for before in STEPS[:STEPS.index(step)]] + [(step, "failed")]


def run_and_steps(server: LocalPostgres, env: dict[str, str], run_id: str) -> tuple[tuple, list[tuple]]:
    """The run's (status, failed step, error) and its steps' (step, status) in order."""
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        run = connection.execute(
            "select status, failed_step, error from ops.pipeline_runs where run_id = %s", (run_id,)).fetchone()
        steps = connection.execute(
            "select step, status from ops.pipeline_steps where run_id = %s order by step_index", (run_id,)).fetchall()
    return run, steps


def test_a_full_disk_for_the_logs_fails_the_run_cleanly(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "logs-disk", 4 * MiB) as disk:
        logs = disk / "logs"
        env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url, "RUN_LOG_DIR": str(logs),
               "REPORT_PATH": str(disk / "health.html")}
        filler = fill_leaving(disk, LOG_ROOM)
        run = start_run(env, "fault-logs-full")
        _, output = run.communicate(timeout=600)
        stderr = output.decode()
        assert run.returncode == 1, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
        [error] = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert re.fullmatch(rf"error: the run log {re.escape(str(logs))}/daily-fault-logs-full\.(log|jsonl)"
                            " cannot be written: No space left on device", error), error
        # Meltano and the step it ran stopped with the run.
        wait_for(lambda: not group_members(run.pid), 30)
        run_row, steps = run_and_steps(postgres_server, env, "fault-logs-full")
        assert run_row == ("failed", EXTRACT_LOAD, error.removeprefix("error: "))
        assert steps == stopped_at(EXTRACT_LOAD)
        assert not recommendations_published(postgres_server, env)
        assert [body["text"] for body in alert_receiver.bodies] == [
            f"MooVitamix daily run fault-logs-full: FAILED — {error.removeprefix('error: ')}"]

        filler.unlink()  # the space is back
        rerun = run_daily(env, "--run-id", "fault-logs-rerun")
        assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
        assert statuses(postgres_server, env) == {"fault-logs-full": "failed", "fault-logs-rerun": "success"}
        assert alerts_about(alert_receiver, "fault-logs-full") == [alert_receiver.bodies[0]["text"]]
        assert_warehouse_is_the_truth(postgres_server, env)
    print(f"outcome: the run on a full logs disk failed in its extract-load with `{error}`, ledger failed,"
          " one alert, Meltano stopped, nothing published; the rerun succeeded; the warehouse equals the"
          " stand-in's truth")


@contextmanager
def database_in_tablespace(server: LocalPostgres, database: str, location: Path) -> Iterator[str]:
    """`database` moved into a tablespace at `location`; dropped with it after, whatever happens
    (a tablespace goes only once no database uses it, and its disk only once it is gone)."""
    tablespace = sql.Identifier("fault_full_disk")
    with server.connect("postgres") as admin:
        admin.execute(sql.SQL("create tablespace {} location {}").format(tablespace, sql.Literal(str(location))))
        try:
            admin.execute(sql.SQL("alter database {} set tablespace {}").format(sql.Identifier(database), tablespace))
            yield "fault_full_disk"
        finally:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
            admin.execute(sql.SQL("drop tablespace {}").format(tablespace))


def test_a_full_disk_for_the_warehouse_fails_the_step_cleanly(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    # Owned by the OS user that runs the server, where it can reach it (pytest's tmp_path is root's alone).
    server_user = postgres_server.cluster_dir.stat()
    disk = Path(tempfile.mkdtemp(prefix="fault-full-disk-"))
    try:
        with (tmpfs(disk, 256 * MiB, f",uid={server_user.st_uid},gid={server_user.st_gid},mode=0700"),
              database_in_tablespace(postgres_server, env["WAREHOUSE_DB"], disk)):
            # Sized on what the database holds here, whatever the server's version makes of its catalog.
            resize(disk, used(disk) + DATABASE_ROOM)
            first = run_daily(env, "--run-id", "fault-pg-full")
            assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]
            assert "Traceback" not in first.stderr, first.stderr[-3000:]
            (status, failed_step, error), steps = run_and_steps(postgres_server, env, "fault-pg-full")
            assert (status, failed_step) == ("failed", DBT_BUILD), error
            # dbt's words for the node, then Postgres' own.
            assert re.fullmatch(r"dbt-postgres:build exited with code 1: Database Error in model \w+ \(\S+\):"
                                r' could not extend file "pg_tblspc/\S+": No space left on device', error), error
            # The job stopped there: no quality gate, no recommender, nothing published.
            assert steps == stopped_at(DBT_BUILD)
            assert not recommendations_published(postgres_server, env)
            assert [body["text"] for body in alert_receiver.bodies] == [
                f"MooVitamix daily run fault-pg-full: FAILED — {error}"]

            resize(disk, 256 * MiB)  # the space is back
            rerun = run_daily(env, "--run-id", "fault-pg-rerun")
            assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
            assert statuses(postgres_server, env) == {"fault-pg-full": "failed", "fault-pg-rerun": "success"}
            assert alerts_about(alert_receiver, "fault-pg-full") == [alert_receiver.bodies[0]["text"]]
            assert_warehouse_is_the_truth(postgres_server, env)
    finally:
        disk.rmdir()
    print(f"outcome: the run whose warehouse disk filled failed in dbt build with `{error}`, ledger failed,"
          " one alert, nothing published; the rerun on a bigger disk succeeded; the warehouse equals the"
          " stand-in's truth")
