"""The run ledger in the warehouse (schema ops) and the lock that keeps one run at a time.

The ledger's tables (ops.pipeline_runs, _steps, _figures, _health, ops.run_lease) are
defined in orchestrate/migrations/ops.sql, applied when the run takes the lock.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from dataclasses import dataclass

import psycopg

from orchestrate.roles import prepare_warehouse
from orchestrate.summary import warehouse_url

# Advisory locks are scoped to one database: the lock of this warehouse's daily job.
LOCK_KEY = "moovitamix.daily"
APPLICATION_PREFIX = "moovitamix-daily:"


class RunLocked(RuntimeError):
    """Another daily run holds the lock on this warehouse."""


@dataclass(frozen=True)
class Figure:
    step: str
    subject: str
    metric: str
    value: float | None
    detail: str | None = None


# How long a run waits for a warehouse that dropped its session (a restart) to come back.
RECONNECT_SECONDS = 60


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Ledger:
    """One session to the warehouse, held for the whole run: it owns the advisory lock.

    A session-level lock dies with its session: a killed run (SIGKILL, OOM, reboot)
    frees it at once, so a stale lock never blocks the next day.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        # Runs killed outright (SIGKILL, OOM, reboot) that this one found and marked aborted.
        self.aborted_runs: list[str] = []
        self.locked = False
        self._session = self._connect()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            warehouse_url(),
            password=os.environ.get("WAREHOUSE_PASSWORD") or None,
            autocommit=True,
            connect_timeout=15,
            application_name=f"{APPLICATION_PREFIX}{self.run_id}"[:63],
        )

    @property
    def connection(self) -> psycopg.Connection:
        """The run's session; when the warehouse dropped it (a restart, a failover), a new
        one, the run lock taken again, so the run goes on and its ledger says what happened."""
        try:
            self._session.execute("select 1")
        except psycopg.OperationalError:
            self._session.close()
            self._session = self._reconnect()
        return self._session

    def _reconnect(self) -> psycopg.Connection:
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                session = self._connect()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        if self.locked and not session.execute(
            "select pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)
        ).fetchone()[0]:
            session.close()
            raise RunLocked("the warehouse dropped this run's session and another run took the lock meanwhile")
        return session

    def close(self) -> None:
        self._session.close()

    def acquire(self) -> None:
        got = self.connection.execute("select pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)).fetchone()[0]
        if not got:
            holder = self.connection.execute(
                "select substr(application_name, %s), backend_start, client_addr from pg_stat_activity"
                " where application_name like %s and pid <> pg_backend_pid() order by backend_start limit 1",
                (len(APPLICATION_PREFIX) + 1, APPLICATION_PREFIX + "%"),
            ).fetchone()
            who = f"run {holder[0]} (started {holder[1]:%Y-%m-%d %H:%M:%S %Z})" if holder else "another run"
            raise RunLocked(f"{who} is still running the daily job on this warehouse; not starting a second one")
        self.locked = True
        # Every component's role, schema, grants and tables (Meltano's schema included), on
        # any warehouse the job meets; the passwords are set where the roles are made.
        prepare_warehouse(self.connection)
        # Holding the lock proves that no other run is alive: rows still 'running' are
        # what a killed run left behind.
        self.aborted_runs = [row[0] for row in self.connection.execute(
            "update ops.pipeline_runs set status = 'aborted', error = coalesce(error, 'the run was killed')"
            " where status = 'running' and run_id <> %s returning run_id",
            (self.run_id,),
        ).fetchall()]
        self.connection.execute(
            "update ops.pipeline_steps set status = 'aborted' where status = 'running' and run_id <> %s",
            (self.run_id,),
        )

    def check_lease(self, job: str) -> None:
        """Refuse to start while another run holds the job's lease. An orchestrator runs one
        task per process and holds the advisory lock only while each one runs: between its
        tasks, its lease keeps any other run out until its last task ends or it expires."""
        holder = self.connection.execute(
            "select run_id, expires_at from ops.run_lease where job = %s and run_id <> %s and expires_at > now()",
            (job, self.run_id),
        ).fetchone()
        if holder:
            raise RunLocked(f"run {holder[0]} holds the lease of the {job} job on this warehouse until"
                            f" {holder[1]:%Y-%m-%d %H:%M:%S %Z} (between two of its tasks); not starting another run")

    def hold_lease(self, job: str, hours: float) -> None:
        """The job's lease, taken or renewed for this run's next `hours`."""
        self.check_lease(job)
        self.connection.execute(
            "insert into ops.run_lease (job, run_id, expires_at) values (%s, %s, now() + make_interval(secs => %s))"
            " on conflict (job) do update set run_id = excluded.run_id, expires_at = excluded.expires_at",
            (job, self.run_id, hours * 3600),
        )

    def release_lease(self, job: str) -> None:
        self.connection.execute("delete from ops.run_lease where job = %s and run_id = %s", (job, self.run_id))

    def start_run(self, job: str, environment: str, log_path: str) -> None:
        # on conflict: an orchestrator running one step per process reuses the run id.
        self.connection.execute(
            "insert into ops.pipeline_runs (run_id, job, environment, host, started_at, status, log_path)"
            " values (%s, %s, %s, %s, %s, 'running', %s)"
            " on conflict (run_id) do update set status = 'running', finished_at = null, log_path = excluded.log_path",
            (self.run_id, job, environment, socket.gethostname(), now(), log_path),
        )

    def start_step(self, index: int, step: str, task: str) -> dt.datetime:
        started = now()
        self.connection.execute(
            "insert into ops.pipeline_steps (run_id, step_index, step, task, started_at, status)"
            " values (%s, %s, %s, %s, %s, 'running')"
            " on conflict (run_id, step) do update set started_at = excluded.started_at, status = 'running',"
            " finished_at = null, duration_s = null, exit_code = null, error = null",
            (self.run_id, index, step, task, started),
        )
        return started

    def finish_step(self, step: str, exit_code: int, error: str | None) -> None:
        finished = now()
        self.connection.execute(
            "update ops.pipeline_steps set finished_at = %s, status = %s, exit_code = %s, error = %s,"
            " duration_s = extract(epoch from %s - started_at) where run_id = %s and step = %s",
            (finished, "success" if exit_code == 0 else "failed", exit_code, error, finished, self.run_id, step),
        )

    def record_figures(self, figures: list[Figure]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(
                "insert into ops.pipeline_figures (run_id, step, subject, metric, value, detail)"
                " values (%s, %s, %s, %s, %s, %s) on conflict (run_id, step, subject, metric)"
                " do update set value = excluded.value, detail = excluded.detail",
                [(self.run_id, f.step, f.subject, f.metric, f.value, f.detail) for f in figures],
            )

    def server_started_at(self) -> dt.datetime:
        """When the warehouse's server last started: a later value than at a step's start
        means the server restarted under the step, and every session of the step died."""
        return self.connection.execute("select pg_postmaster_start_time()").fetchone()[0]

    def forget_figures(self, step: str) -> None:
        """A step about to run again: what its cut attempt measured is not its result."""
        self.connection.execute("delete from ops.pipeline_figures where run_id = %s and step = %s",
                                (self.run_id, step))

    def running_step(self) -> str | None:
        row = self.connection.execute(
            "select step from ops.pipeline_steps where run_id = %s and status = 'running' order by step_index limit 1",
            (self.run_id,),
        ).fetchone()
        return row[0] if row else None

    def finish_run(self, failed_step: str | None, error: str | None, status: str | None = None) -> None:
        """The run's end: success, failed, or aborted (stopped by a signal); a step it left
        running ends with the same status."""
        finished = now()
        status = status or ("failed" if error else "success")
        self.connection.execute(
            "update ops.pipeline_runs set finished_at = %s, status = %s, failed_step = %s, error = %s,"
            " duration_s = extract(epoch from %s - started_at) where run_id = %s",
            (finished, status, failed_step, error, finished, self.run_id),
        )
        self.connection.execute(
            "update ops.pipeline_steps set finished_at = %s, status = %s, error = %s,"
            " duration_s = extract(epoch from %s - started_at) where run_id = %s and status = 'running'",
            (finished, status, error, finished, self.run_id),
        )
