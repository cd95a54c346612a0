"""`make bench-day RECORDS=N`: the whole daily job at N records per endpoint, day 0 then day 1.

    .venv/bin/python -m benchmarks.bench_day [--records 1000000] [--warehouse-port 5462]
        [--api-port 8062] [--baseline-api-port 8063] [--state-dir .bench-day]

On a warehouse of its own, from empty (how and why: benchmarks/README.md):

1. day 0, then day 1 (MOOVITAMIX_API_DAY=1: new and updated records, grown histories,
   loaded incrementally into the same warehouse), each run the way a user runs it:
   `python -m local.run` (`make run`), which starts the stand-in API itself;
2. before each day, the baseline of that day: the stand-in's three endpoints paged
   through once with one plain HTTP session and written with COPY into a scratch
   database, the least any extract-load of that day has to do;
3. while each day runs, the memory of the job's whole process tree plus the Postgres
   server's processes, sampled from /proc (benchmarks/process_memory.py), and the disk
   of the data directory;
4. after each day, what the job recorded in its ledger (ops.pipeline_runs,
   ops.pipeline_steps, ops.pipeline_figures, ml.training_runs): seconds per stage,
   rows, records read and loaded, the model's NDCG@10 against popularity's.

Prints a table per day, the platform's targets at 1M as met / not met (figures, never a failed
run), and as the last line a JSON object. Exits 1 if the job failed, 130 if interrupted;
everything it started (Postgres, stand-ins, the job's processes) is stopped by PID.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import requests
from psycopg.rows import dict_row

from benchmarks.job_stop import DeferredInterrupts, stop_job
from benchmarks.process_memory import ProcessId, Sample, TreeSampler, is_alive, parse_stat, peak, peak_pss
from local.stand_in import running_stand_in
from orchestrate.project import PROJECT_ROOT, load_dotenv
from orchestrate.startup import port_in_use

DEFAULT_RECORDS = 1_000_000
DAYS = (0, 1)
ENDPOINTS = ("tracks", "users", "listen_history")
PAGE_SIZE = 100  # the tap's page_size (meltano.yml) and the API's largest page
WAREHOUSE_DB = "moovitamix"
WAREHOUSE_USER = "moovitamix"
BASELINE_DB = "bench_baseline"
MB = 1024  # kB per MB: the samples are in kB
# Stage names in the figures, after the plugin that starts each task of the job.
STAGE_OF_PLUGIN = {"tap": "extract_load", "dbt": "dbt_build", "soda": "soda", "recommender": "recommender"}
STAGE_OF_TASK = {  # tasks of a plugin that are stages of their own
    "dbt-postgres:freshness": "source_freshness",
    "dbt-postgres:profile-published": "published_profile",
}
OTHER = "other"  # the job outside its tasks: start-up, stand-in, lock, figures, report, summary
# Variables of the caller that would change what is measured, or send alerts from a benchmark.
LEAKS = ("MOOVITAMIX_API_", "TAP_MOOVITAMIX_", "TARGET_POSTGRES_")
LEAKED = ("ALERT_WEBHOOK_URL", "LOG_FORMAT", "MELTANO_ENVIRONMENT", "DBT_PROFILES_DIR")
# The platform's targets, set for 1,000,000 records per endpoint on an idle 2-core machine.
TARGET_DAY0_S = 45 * 60
TARGET_DAY1_S = 20 * 60
TARGET_PEAK_MB = 12 * 1024
TARGET_NDCG_RATIO = 2.5
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a job stopped by Ctrl-C


def log(message: str) -> None:
    print(message, flush=True)


# --- where everything lives -------------------------------------------------------------


def job_environment(
    base: Mapping[str, str], state: Path, records: int, day: int, warehouse_port: int, api_port: int
) -> dict[str, str]:
    """The environment of one day's job: every path it writes under `state`, so the
    benchmark never reads or changes the data, state or stores of `make run`."""
    env = {name: value for name, value in base.items() if not name.startswith(LEAKS) and name not in LEAKED}
    env.pop("MOOVITAMIX_API_URL", None)  # the job starts its own stand-in, as a user's `make run` does
    env.update(
        WAREHOUSE_HOST="127.0.0.1",
        WAREHOUSE_PORT=str(warehouse_port),
        WAREHOUSE_USER=WAREHOUSE_USER,
        WAREHOUSE_DB=WAREHOUSE_DB,
        WAREHOUSE_DATA_DIR=str(state / "pgdata"),
        MOOVITAMIX_API_PORT=str(api_port),
        MOOVITAMIX_API_RECORDS=str(records),
        MOOVITAMIX_API_DAY=str(day),
        # Meltano's state lives in the benchmark's warehouse; its sys dir holds each run's
        # config and catalog: private too, the plugins shared.
        MELTANO_SYS_DIR_ROOT=str(state / "meltano" / "sys"),
        MLFLOW_TRACKING_URI=f"sqlite:///{state / 'mlflow' / 'mlflow.db'}",
        MLFLOW_ARTIFACT_ROOT=str(state / "mlflow" / "artifacts"),
        DBT_TARGET_PATH=str(state / "dbt" / "target"),
        DBT_LOG_PATH=str(state / "dbt" / "logs"),
        # The project's files the recommender needs (the JDBC driver the setup installed)
        # are found from MOOVITAMIX_HOME: the project, as under `make run`.
        MOOVITAMIX_HOME=str(PROJECT_ROOT),
        # Spark's shuffle and spill files: inside the state dir, so the disk figures count them.
        SPARK_LOCAL_DIRS=str(state / "spark-local"),
        RUN_LOG_DIR=str(state / "logs"),
        REPORT_PATH=str(state / "health.html"),
        SODA_CORE_TELEMETRY_ENABLED="false",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def prepare_state(state: Path) -> None:
    """An empty state dir, with a Meltano sys dir that links the installed plugins."""
    shutil.rmtree(state, ignore_errors=True)
    sys_dir = state / "meltano" / "sys"
    sys_dir.mkdir(parents=True)
    for entry in (PROJECT_ROOT / ".meltano").iterdir():
        if entry.name not in {"run", "logs", "meltano.db"}:
            (sys_dir / entry.name).symlink_to(entry)
    for name in ("mlflow", "dbt", "spark-local", "logs"):
        (state / name).mkdir()


def dir_size(path: Path) -> int:
    """Bytes on disk (allocated blocks) under path; files that vanish meanwhile count 0."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += dir_size(Path(entry.path))
            else:
                total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


class DiskSampler(threading.Thread):
    """The largest size seen of each directory, measured every `interval` seconds: Postgres'
    temporary files and WAL come and go within a stage, and count in the disk a day needs."""

    def __init__(self, paths: Mapping[str, Path], interval: float = 5.0) -> None:
        super().__init__(name="disk-sampler", daemon=True)
        self.paths = dict(paths)
        self.interval = interval
        self.peaks = dict.fromkeys(self.paths, 0)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            for name, path in self.paths.items():
                self.peaks[name] = max(self.peaks[name], dir_size(path))
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> dict[str, int]:
        self._stop_event.set()
        self.join()
        return self.peaks


# --- the servers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Warehouse:
    env: dict[str, str]
    port: int
    postmaster: ProcessId
    data_directory: Path

    def connect(self, database: str = WAREHOUSE_DB) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=WAREHOUSE_USER, password=self.env["WAREHOUSE_PASSWORD"],
            dbname=database, autocommit=True, connect_timeout=15,
        )


def local_postgres(env: Mapping[str, str], action: str) -> subprocess.CompletedProcess[str]:
    """The project's own launcher, as `make db-url` / `make stop` use it."""
    return subprocess.run(
        [sys.executable, "-m", "local.postgres", action],
        cwd=PROJECT_ROOT, env=dict(env), capture_output=True, text=True, check=False,
    )


def proc_stat(pid: int) -> tuple[int, int]:
    return parse_stat(Path(f"/proc/{pid}/stat").read_text())


def start_warehouse(env: dict[str, str]) -> Warehouse:
    result = local_postgres(env, "start")
    if result.returncode != 0:
        raise SystemExit(f"bench-day: the warehouse did not start: {(result.stderr or result.stdout).strip()}")
    port = int(env["WAREHOUSE_PORT"])
    with psycopg.connect(host="127.0.0.1", port=port, user=WAREHOUSE_USER, password=env["WAREHOUSE_PASSWORD"],
                         dbname="postgres", autocommit=True) as connection:
        backend, data_directory = connection.execute(
            "select pg_backend_pid(), current_setting('data_directory')"
        ).fetchone()
        # Every backend is a child of the postmaster: the root of the server's process
        # tree. Read while the connection holds the backend (it exits with it).
        postmaster = proc_stat(backend)[0]
    return Warehouse(env, port, ProcessId(postmaster, proc_stat(postmaster)[1]), Path(data_directory))


def stop_warehouse(warehouse: Warehouse) -> None:
    # pg_ctl stops the server by the PID of its postmaster.pid; if it cannot, the PID we
    # recorded gets SIGQUIT (immediate shutdown), so no server outlives the benchmark.
    local_postgres(warehouse.env, "stop")
    deadline = time.monotonic() + 60
    while is_alive(warehouse.postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    if is_alive(warehouse.postmaster):
        os.kill(warehouse.postmaster.pid, signal.SIGQUIT)


# --- the baseline -----------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    seconds: float
    http_seconds: float  # waiting for the API and parsing its JSON; the rest is COPY
    records: int


def measure_baseline(api_url: str, warehouse: Warehouse) -> Baseline:
    """Every page of the three endpoints, one request after the other with one session, each
    record written as it comes with COPY into a scratch database, dropped afterwards."""
    with warehouse.connect("postgres") as admin:
        admin.execute(f"drop database if exists {BASELINE_DB} with (force)")
        admin.execute(f"create database {BASELINE_DB}")
    session = requests.Session()
    records = 0
    http = 0.0
    started = time.perf_counter()
    try:
        with warehouse.connect(BASELINE_DB) as connection:
            for endpoint in ENDPOINTS:
                connection.execute(f"create table {endpoint} (record jsonb)")
                with connection.cursor() as cursor, cursor.copy(f"copy {endpoint} (record) from stdin") as copy:
                    page = 1
                    while True:
                        asked = time.perf_counter()
                        response = session.get(f"{api_url}/{endpoint}", params={"page": page, "size": PAGE_SIZE},
                                               timeout=60)
                        response.raise_for_status()
                        body = response.json()
                        http += time.perf_counter() - asked
                        for item in body["items"]:
                            copy.write_row([json.dumps(item)])
                        records += len(body["items"])
                        if not body["items"] or page >= body["pages"]:
                            break
                        page += 1
        seconds = time.perf_counter() - started
    finally:
        with warehouse.connect("postgres") as admin:
            admin.execute(f"drop database if exists {BASELINE_DB} with (force)")
    return Baseline(seconds, http, records)


# --- one day ----------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    step: str
    status: str
    seconds: float
    started: float
    finished: float
    peak_rss_kb: int | None = None
    peak_pss_kb: int | None = None
    top: list[tuple[str, int]] = field(default_factory=list)  # biggest roles at the peak, RSS kB


@dataclass
class DayResult:
    day: int
    exit_code: int
    wall_seconds: float
    baseline: Baseline
    load_average: tuple[float, float]
    run: dict[str, Any] | None = None
    stages: list[Stage] = field(default_factory=list)
    peak_rss_kb: int = 0
    peak_pss_kb: int | None = None
    top: list[tuple[str, int]] = field(default_factory=list)
    other_peak_rss_kb: int | None = None
    rows: dict[str, int] = field(default_factory=dict)
    streams: dict[str, dict[str, float]] = field(default_factory=dict)  # records read/loaded per stream
    model: dict[str, Any] | None = None
    disk_mb: dict[str, float] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and self.run is not None and self.run["status"] == "success"

    @property
    def status(self) -> str:
        # A job that died on an exception leaves its ledger row "running": the exit code decides.
        return "success" if self.succeeded else "failed"


def stage_of(task: str) -> str:
    """The benchmark's name for a task of the job: `tap-x target-y` -> extract_load, ..."""
    if task in STAGE_OF_TASK:
        return STAGE_OF_TASK[task]
    plugin = task.split()[0].split(":")[0]
    for prefix, stage in STAGE_OF_PLUGIN.items():
        if plugin.startswith(prefix):
            return stage
    return plugin.replace("-", "_")


def top_roles(sample: Sample | None, count: int = 3) -> list[tuple[str, int]]:
    if sample is None:
        return []
    return sorted(sample.by_role.items(), key=lambda item: -item[1])[:count]


def running_step(connection: psycopg.Connection | None) -> str | None:
    if connection is None:
        return None
    try:
        row = connection.execute(
            "select task from ops.pipeline_steps where status = 'running' order by started_at desc limit 1"
        ).fetchone()
    except psycopg.Error:  # the job has not created its ledger yet
        return None
    return stage_of(row[0]) if row else None


def watch(job: subprocess.Popen[bytes], warehouse: Warehouse, sampler: TreeSampler, day: int) -> None:
    """Until the job ends: one line when a stage starts, and one a minute with the memory."""
    started = time.monotonic()
    last_stage: str | None = None
    last_beat = started
    try:
        connection: psycopg.Connection | None = warehouse.connect()
    except psycopg.Error:
        connection = None
    try:
        while job.poll() is None:
            time.sleep(2)
            elapsed = time.monotonic() - started
            stage = running_step(connection)
            rss = sampler.samples[-1].rss_kb // MB if sampler.samples else 0
            if stage and stage != last_stage:
                log(f"  day {day} · {elapsed:7.1f} s · {stage} started (RSS of the job + Postgres now {rss:,} MB)")
                last_stage, last_beat = stage, time.monotonic()
            elif time.monotonic() - last_beat >= 60:
                log(f"  day {day} · {elapsed:7.1f} s · {last_stage or 'start-up'} running, RSS now {rss:,} MB")
                last_beat = time.monotonic()
    finally:
        if connection is not None:
            connection.close()


def abandon(job: subprocess.Popen[bytes], sampler: TreeSampler, disk: DiskSampler) -> None:
    """The day cannot go on (an interrupt, an error of the benchmark): its job is stopped, the
    samplers too, a second Ctrl-C meanwhile notwithstanding."""
    with DeferredInterrupts():
        if sampler.is_alive():
            sampler.stop()  # before its `seen` is read: it grows while the sampler runs
        left = stop_job(job, [process for process, root in sampler.seen.items() if root == job.pid])
        if left:
            print(f"bench-day: processes of the job still running after SIGKILL: {sorted(p.pid for p in left)}",
                  file=sys.stderr)
        disk.stop()


def run_day(day: int, env: dict[str, str], warehouse: Warehouse, state: Path, baseline_port: int,
            interval: float) -> DayResult:
    day_dir = state / f"day{day}"
    day_dir.mkdir()
    log(f"day {day}: baseline (plain HTTP + COPY of the stand-in's day {day})...")
    with running_stand_in(env, baseline_port, day_dir / "baseline-api.log", timeout_s=300) as url:
        baseline = measure_baseline(url, warehouse)
    log(f"  {baseline.records:,} records in {baseline.seconds:.1f} s (HTTP {baseline.http_seconds:.1f} s)")
    log(f"day {day}: python -m local.run (console: {day_dir / 'console.log'})")
    load_before = os.getloadavg()[0]
    disk = DiskSampler({"data_directory": warehouse.data_directory, "state_dir": state})
    disk.start()
    started = time.perf_counter()
    with (day_dir / "console.log").open("wb") as console:
        job = subprocess.Popen([sys.executable, "-m", "local.run"], cwd=PROJECT_ROOT, env=env,
                               stdout=console, stderr=subprocess.STDOUT, start_new_session=True)
    sampler = TreeSampler({job.pid: None, warehouse.postmaster.pid: "postgres"}, interval)
    try:
        sampler.start()
        watch(job, warehouse, sampler, day)
    except BaseException:
        abandon(job, sampler, disk)
        raise
    wall = time.perf_counter() - started
    samples = sampler.stop()
    disk_peaks = disk.stop()
    result = DayResult(day, job.returncode, wall, baseline, (load_before, os.getloadavg()[0]))
    highest = peak(samples)
    result.peak_rss_kb = highest.rss_kb if highest else 0
    result.peak_pss_kb = peak_pss(samples)
    result.top = top_roles(highest)
    read_ledger(result, warehouse, samples)
    result.disk_mb.update(
        {f"{name}_peak": size / 2**20 for name, size in disk_peaks.items()},
        data_directory=dir_size(warehouse.data_directory) / 2**20,
        state_dir=dir_size(state) / 2**20,
    )
    if not result.succeeded:
        tail = (day_dir / "console.log").read_text(errors="replace").splitlines()[-25:]
        log(f"day {day}: the job FAILED (exit code {job.returncode}); the end of its console:")
        log("\n".join(f"    {line}" for line in tail))
    return result


def read_ledger(result: DayResult, warehouse: Warehouse, samples: list[Sample]) -> None:
    """What the job recorded about its run; the stages' memory from the samples in each step."""
    with warehouse.connect() as connection, connection.cursor(row_factory=dict_row) as cursor:
        if cursor.execute("select to_regclass('ops.pipeline_runs') as t").fetchone()["t"] is None:
            return
        result.run = cursor.execute(
            "select run_id, status, duration_s, failed_step, error from ops.pipeline_runs"
            " order by started_at desc limit 1"
        ).fetchone()
        if result.run is None:
            return
        run_id = result.run["run_id"]
        now = time.time()
        steps = cursor.execute(
            "select step, task, status, started_at, finished_at, duration_s from ops.pipeline_steps"
            " where run_id = %s order by step_index", (run_id,),
        ).fetchall()
        for step in steps:
            begin = step["started_at"].timestamp()
            end = step["finished_at"].timestamp() if step["finished_at"] else now
            highest = peak(samples, begin, end)
            result.stages.append(Stage(
                stage_of(step["task"]), step["step"], step["status"], step["duration_s"] or end - begin, begin, end,
                highest.rss_kb if highest else None, peak_pss(samples, begin, end), top_roles(highest),
            ))
        outside = [s for s in samples if not any(stage.started <= s.at <= stage.finished for stage in result.stages)]
        highest_outside = peak(outside)
        result.other_peak_rss_kb = highest_outside.rss_kb if highest_outside else None
        for row in cursor.execute(
            "select step, subject, metric, value from ops.pipeline_figures where run_id = %s and"
            " (metric = 'rows' and step = 'warehouse' or metric in ('records_read', 'records_loaded'))", (run_id,),
        ):
            if row["metric"] == "rows":
                result.rows[row["subject"]] = int(row["value"])
            else:
                result.streams.setdefault(row["subject"], {})[row["metric"]] = row["value"]
        if cursor.execute("select to_regclass('ml.training_runs') as t").fetchone()["t"] is not None:
            result.model = cursor.execute("select * from ml.training_runs where run_id = %s", (run_id,)).fetchone()
        sizes = cursor.execute(
            "select n.nspname as schema, sum(pg_total_relation_size(c.oid)) as bytes from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'm', 'p')"
            " and n.nspname not in ('pg_catalog', 'information_schema') group by 1 order by 2 desc"
        ).fetchall()
        result.disk_mb["database"] = cursor.execute(
            "select pg_database_size(current_database()) as b").fetchone()["b"] / 2**20
        result.disk_mb.update({f"schema_{row['schema']}": float(row["bytes"]) / 2**20 for row in sizes})


# --- the report -------------------------------------------------------------------------


def stage_seconds(result: DayResult) -> dict[str, float]:
    seconds = {stage.name: round(stage.seconds, 1) for stage in result.stages}
    seconds[OTHER] = round(max(0.0, result.wall_seconds - sum(stage.seconds for stage in result.stages)), 1)
    return seconds


def mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / MB:,.0f}"


def roles_text(top: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {kb / MB:,.0f}" for name, kb in top)


def extract_load_seconds(result: DayResult) -> float | None:
    return next((stage.seconds for stage in result.stages if stage.name == "extract_load"), None)


def render_day(result: DayResult, records: int, day0: DayResult | None) -> str:
    """The table of one day; day 1 also shows each stage against day 0."""
    status = "SUCCESS" if result.succeeded else f"FAILED (exit code {result.exit_code})"
    lines = [
        "",
        f"=== day {result.day} · {records:,} records per endpoint · {status} in {result.wall_seconds:,.1f} s"
        f" (run {result.run['run_id'] if result.run else '-'}) · load average {result.load_average[0]:.2f}"
        f" -> {result.load_average[1]:.2f} ===",
    ]
    against = stage_seconds(day0) if day0 else {}
    header = f"  {'stage':<14}{'seconds':>10}{'vs day 0':>10}{'peak RSS MB':>13}{'peak PSS MB':>13}  RSS MB at the peak"
    lines.append(header)
    for stage in result.stages:
        ratio = f"{stage.seconds / against[stage.name]:.2f}" if against.get(stage.name) else ""
        lines.append(f"  {stage.name:<14}{stage.seconds:>10,.1f}{ratio:>10}{mb(stage.peak_rss_kb):>13}"
                     f"{mb(stage.peak_pss_kb):>13}  {roles_text(stage.top)}"
                     + ("" if stage.status == "success" else f"  [{stage.status}]"))
    other = stage_seconds(result)[OTHER]
    other_ratio = f"{other / against[OTHER]:.2f}" if against.get(OTHER) else ""
    lines.append(f"  {OTHER:<14}{other:>10,.1f}{other_ratio:>10}{mb(result.other_peak_rss_kb):>13}{'':>13}"
                 "  start-up, stand-in, lock, figures, report")
    day_ratio = f"{result.wall_seconds / day0.wall_seconds:.2f}" if day0 else ""
    lines.append(f"  {'whole day':<14}{result.wall_seconds:>10,.1f}{day_ratio:>10}{mb(result.peak_rss_kb):>13}"
                 f"{mb(result.peak_pss_kb):>13}  {roles_text(result.top)}")
    base = result.baseline
    el = extract_load_seconds(result)
    lines.append(
        f"  baseline: the day's {base.records:,} records paged through once with plain HTTP and written with COPY:"
        f" {base.seconds:,.1f} s (HTTP {base.http_seconds:,.1f} s, {base.records / base.seconds:,.0f} records/s)"
    )
    if el:
        lines.append(f"            extract_load / baseline = {el / base.seconds:.2f};"
                     f" whole day / baseline = {result.wall_seconds / base.seconds:.1f}")
    if result.streams:
        lines.append("  records read / loaded: " + " · ".join(
            f"{stream} {figures.get('records_read', 0):,.0f} / {figures.get('records_loaded', 0):,.0f}"
            for stream, figures in sorted(result.streams.items())))
    if result.rows:
        lines.append("  rows: " + " · ".join(f"{table} {rows:,}" for table, rows in result.rows.items()))
    disk = result.disk_mb
    if disk:
        schemas = " · ".join(f"{name[7:]} {size:,.0f}" for name, size in disk.items() if name.startswith("schema_"))
        lines.append(
            f"  disk MB: database {disk.get('database', 0):,.0f}, data directory {disk['data_directory']:,.0f}"
            f" (peak {disk['data_directory_peak']:,.0f}), benchmark state {disk['state_dir']:,.0f}"
            f" (peak {disk['state_dir_peak']:,.0f}); by schema: {schemas}"
        )
    if result.model:
        model = result.model
        lines.append(
            f"  model: {model.get('decision')} · NDCG@10 {fmt(model.get('ndcg_at_10'))}, popularity"
            f" {fmt(model.get('popularity_ndcg_at_10'))}, champion {fmt(model.get('champion_ndcg_at_10'))}"
            f" · users scored {model.get('users_scored') or 0:,} · interactions {model.get('interactions_rows') or 0:,}"
        )
    return "\n".join(lines)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def summarise(records: int, days: list[DayResult]) -> dict[str, Any]:
    """The JSON of the last line: the agreed keys first, then the detail."""
    by_day = {f"day{result.day}": result for result in days}
    trained = [r.model for r in days if r.model and r.model.get("ndcg_at_10") is not None]
    model = trained[-1] if trained else {}  # the newest model trained, day 1's if it retrained
    summary: dict[str, Any] = {
        "records_per_endpoint": records,
        "day0_seconds": round(by_day["day0"].wall_seconds, 1) if "day0" in by_day else None,
        "day1_seconds": round(by_day["day1"].wall_seconds, 1) if "day1" in by_day else None,
        "peak_rss_mb": round(max(r.peak_rss_kb for r in days) / MB) if days else None,
        "stages": {name: stage_seconds(result) for name, result in by_day.items()},
        "ndcg_at_10": model.get("ndcg_at_10"),
        "popularity_ndcg_at_10": model.get("popularity_ndcg_at_10"),
        "status": {name: result.status for name, result in by_day.items()},
    }
    pss = [r.peak_pss_kb for r in days if r.peak_pss_kb is not None]
    summary["peak_pss_mb"] = round(max(pss) / MB) if pss else None
    summary["peak_rss_mb_by_stage"] = {
        name: {stage.name: round(stage.peak_rss_kb / MB) for stage in r.stages if stage.peak_rss_kb is not None}
        for name, r in by_day.items()
    }
    summary["peak_pss_mb_by_stage"] = {
        name: {stage.name: round(stage.peak_pss_kb / MB) for stage in r.stages if stage.peak_pss_kb is not None}
        for name, r in by_day.items()
    }
    summary["baseline"] = {
        name: {"seconds": round(r.baseline.seconds, 1), "http_seconds": round(r.baseline.http_seconds, 1),
               "records": r.baseline.records}
        for name, r in by_day.items()
    }
    summary["extract_load_vs_baseline"] = {
        name: round(el / r.baseline.seconds, 2) for name, r in by_day.items() if (el := extract_load_seconds(r))
    }
    summary["rows"] = {name: r.rows for name, r in by_day.items()}
    summary["records_read_loaded"] = {name: r.streams for name, r in by_day.items()}
    summary["disk_mb"] = {name: {k: round(v) for k, v in r.disk_mb.items()} for name, r in by_day.items()}
    summary["model"] = {
        name: {k: r.model.get(k) for k in ("decision", "ndcg_at_10", "popularity_ndcg_at_10", "champion_ndcg_at_10",
                                           "users_scored", "interactions_rows")}
        for name, r in by_day.items() if r.model
    }
    summary["load_average_1m"] = {name: [round(v, 2) for v in r.load_average] for name, r in by_day.items()}
    summary["targets_met"] = {label: met for label, _, met in targets(summary)}
    return summary


def targets(summary: Mapping[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, figure, met) for each target; met is None when not measured."""

    def below(value: float | None, limit: float) -> bool | None:
        return None if value is None else value < limit

    day0, day1 = summary.get("day0_seconds"), summary.get("day1_seconds")
    rss, pss = summary.get("peak_rss_mb"), summary.get("peak_pss_mb")
    ndcg, popularity = summary.get("ndcg_at_10"), summary.get("popularity_ndcg_at_10")
    ratio = ndcg / popularity if ndcg is not None and popularity else None
    return [
        ("day 0 < 45 min", "-" if day0 is None else f"{day0 / 60:,.1f} min", below(day0, TARGET_DAY0_S)),
        ("day 1 < 20 min", "-" if day1 is None else f"{day1 / 60:,.1f} min", below(day1, TARGET_DAY1_S)),
        ("peak RSS < 12 GB (sum of RSS)", "-" if rss is None else f"{rss / 1024:,.2f} GB", below(rss, TARGET_PEAK_MB)),
        ("peak RSS < 12 GB (sum of PSS)", "-" if pss is None else f"{pss / 1024:,.2f} GB", below(pss, TARGET_PEAK_MB)),
        ("NDCG@10 >= 2.5 x popularity", "-" if ratio is None else f"{ratio:.2f} x ({ndcg:.4f} / {popularity:.4f})",
         None if ratio is None else ratio >= TARGET_NDCG_RATIO),
    ]


def render_targets(summary: Mapping[str, Any]) -> str:
    records = summary["records_per_endpoint"]
    note = "" if records == DEFAULT_RECORDS else f" (set for {DEFAULT_RECORDS:,} records; this run: {records:,})"
    lines = ["", f"=== targets{note} ==="]
    for label, figure, met in targets(summary):
        verdict = "not measured" if met is None else "met" if met else "NOT met"
        lines.append(f"  {label:<32}{figure:>28}  {verdict}")
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def catch_interrupts() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, whatever this process inherited. Python
    installs its Ctrl-C handler only if SIGINT is not ignored, and a non-interactive shell
    starts a background command (`make bench-day &` in a script) with SIGINT ignored: the
    benchmark would run on through an interrupt, and its job, which inherits that, too.
    A handler, unlike SIG_IGN, is reset to the default in the job at exec: Ctrl-C reaches it."""
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)


def exit_code(days: list[DayResult], interrupted: bool) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if len(days) == len(DAYS) and all(result.succeeded for result in days) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="records per endpoint (1,000,000)")
    parser.add_argument("--warehouse-port", type=int, default=5462, help="port of the benchmark's Postgres (5462)")
    parser.add_argument("--api-port", type=int, default=8062, help="port of the stand-in the job starts (8062)")
    parser.add_argument("--baseline-api-port", type=int, default=8063, help="port of the baseline's stand-in (8063)")
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".bench-day",
                        help="all the benchmark's state, emptied at start (.bench-day)")
    parser.add_argument("--sample-seconds", type=float, default=0.5, help="memory sampling period (0.5)")
    args = parser.parse_args(argv)
    state = args.state_dir.resolve()
    catch_interrupts()

    load_dotenv()  # the owner's and the roles' passwords, as `make install` wrote them
    envs = {day: job_environment(os.environ, state, args.records, day, args.warehouse_port, args.api_port)
            for day in DAYS}
    # A run killed before it could stop its server left it running on the data dir about to be emptied.
    local_postgres(envs[0], "stop")
    busy = [port for port in (args.warehouse_port, args.api_port, args.baseline_api_port) if port_in_use(port)]
    if busy:
        print(f"bench-day: port(s) {busy} on 127.0.0.1 already in use (see --help for the port options)",
              file=sys.stderr)
        return 2
    prepare_state(state)
    # The job writes its stand-in's log to <project>/.logs/api.log whatever RUN_LOG_DIR says,
    # and fails if that directory does not exist yet (a clone that never ran `make run`).
    (PROJECT_ROOT / ".logs").mkdir(exist_ok=True)
    log(f"bench-day: {args.records:,} records per endpoint, day 0 then day 1, state in {state},"
        f" started {dt.datetime.now():%Y-%m-%d %H:%M:%S}, load average {os.getloadavg()[0]:.2f}")
    days, interrupted = run_days(args, envs, state)
    summary = summarise(args.records, days)
    log(render_targets(summary))
    print(json.dumps(summary, default=str), flush=True)
    return exit_code(days, interrupted)


def run_days(args: argparse.Namespace, envs: Mapping[int, dict[str, str]], state: Path) -> tuple[list[DayResult], bool]:
    """Day 0 then day 1 on a warehouse of the benchmark's own, each day's table printed as it
    ends; (the days measured, whether interrupted). The warehouse is stopped in any case."""
    days: list[DayResult] = []
    warehouse: Warehouse | None = None
    interrupted = False
    try:
        warehouse = start_warehouse(envs[0])
        for day in DAYS:
            result = run_day(day, envs[day], warehouse, state, args.baseline_api_port, args.sample_seconds)
            days.append(result)
            log(render_day(result, args.records, days[0] if day else None))
            if not result.succeeded:
                break
    except KeyboardInterrupt:
        interrupted = True
        print("bench-day: interrupted; everything it started is stopped", file=sys.stderr)
    finally:
        if warehouse is not None:
            with DeferredInterrupts() as late:  # a Ctrl-C now would leave the server running
                stop_warehouse(warehouse)
            interrupted = interrupted or late.received > 0
    return days, interrupted


if __name__ == "__main__":
    sys.exit(main())
