"""The runner in another timezone, its clock a day behind or ahead: the job loads the same
business rows as a runner in UTC.

Three whole jobs, each into a database of its own: a baseline with TZ=UTC and a true clock,
then TZ=America/Montreal with the clock one day behind, then one day ahead. Only the
runner's processes are skewed (libfaketime, preloaded into the supervisor, Meltano, every
plugin, Spark's JVM and the stand-in); the warehouse's server keeps its real clock, as
a separate database host would. The stand-in serves the same world whatever the date
(api/stand_in/timeline.py), and the truth is computed here, in this unskewed process.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql

from local.postgres import LocalPostgres
from tests.conftest import recreate_database, run_daily
from tests.faults.harness import assert_warehouse_is_the_truth, statuses

ZONE = "America/Montreal"
SKEWS_IN_DAYS = (-1, +1)
# A stamp is read back to the second (the supervisor's log) or the millisecond (the loader).
STAMP_TOLERANCE = dt.timedelta(seconds=1)

# Debian's libfaketime 0.9.10 breaks Python >= 3.11 whichever way the monotonic clock is
# set. Faked, it hangs every timed lock wait (Python waits with sem_clockwait, which it
# does not intercept, against a deadline it did fake). Left real
# (FAKETIME_DONT_FAKE_MONOTONIC=1), time.sleep fails with EINVAL: Python sleeps with
# clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) and libfaketime shifts that real deadline
# by the fake offset, to before the boot (wolfcw/libfaketime#426, fixed after 0.9.10).
# This shim, preloaded before libfaketime, hands the sleeps on every clock but the wall
# clock straight to the kernel; wall-clock deadlines still go through libfaketime.
# PYTHONPATH cannot carry a Python-level fix: Meltano drops it from its plugins' env.
REAL_MONOTONIC_SLEEP_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *request, struct timespec *remain) {
    if (clock == CLOCK_REALTIME) {
        static int (*faked)(clockid_t, int, const struct timespec *, struct timespec *);
        if (faked == NULL) faked = dlsym(RTLD_NEXT, "clock_nanosleep");
        return faked(clock, flags, request, remain);
    }
    return syscall(SYS_clock_nanosleep, clock, flags, request, remain) == 0 ? 0 : errno;
}
"""

# The relations that hold the API's data and what is built from it: whole schemas, plus
# the business relations of the schemas shared with the job's bookkeeping (ops: the run
# ledger; ml: the training runs). meltano.*, quality.volume_history and those ledgers
# describe the runs themselves, so they differ from run to run by nature.
BUSINESS_SCHEMAS = ("raw", "staging", "snapshots", "marts", "pii")
# The recommendations are compared whole, scores included: for the same data a run is
# deterministic (ALS with a fixed seed, ids indexed in id order by idmap.py, the hold-out
# chosen by a hash of (user, track) in interactions.py); only generated_at follows the clock.
BUSINESS_RELATIONS = ("ops.identity_conflicts", "ml.user_recommendations", "ml.user_index", "ml.track_index")
TIME_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")
# The API's two timestamps, and the columns that carry them under a prefix
# (fct_listens.history_created_at, the snapshots' dbt_updated_at).
API_TIMESTAMPS = ("created_at", "updated_at")
# The supervisor's own startup lines: "2026-11-30T21:27:28-0500 event=…", in local time.
SUPERVISOR_LOG_LINE = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}) event=", re.MULTILINE)


def is_audit_column(name: str, data_type: str) -> bool:
    """What the pipeline writes about its own work rather than what the API served, so
    it differs from run to run by nature: Singer's `_sdc_*` metadata (the load's times and
    sequence), the run that wrote the row (raw.rejected_records.run_id), and every date or
    time that is not one of the API's two timestamps (loaded_at, first_seen_at,
    last_seen_at, load_date, generated_at, rejected_at, the snapshots' validity
    dbt_valid_from/to): those follow the runner's clock."""
    return (name.startswith("_sdc_") or name == "run_id"
            or (data_type in TIME_TYPES and not name.endswith(API_TIMESTAMPS)))


@dataclass(frozen=True)
class Runner:
    """What the runner's processes are told about time."""

    zone: str
    skew_days: int = 0

    @property
    def label(self) -> str:
        return f"{self.zone}, clock {self.skew_days:+d} day" if self.skew_days else f"{self.zone}, true clock"

    @property
    def skew(self) -> dt.timedelta:
        return dt.timedelta(days=self.skew_days)

    def environment(self, preload: str) -> dict[str, str]:
        if not self.skew_days:
            return {"TZ": self.zone}
        return {
            "TZ": self.zone,
            "LD_PRELOAD": preload,
            "FAKETIME": f"{self.skew_days:+d}d",
            # A real monotonic clock: on a faked one Python's timed lock waits hang (see
            # the shim), and timeouts and durations are not what this scenario is about.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # The workaround libfaketime turns on by itself for this glibc is meant for a
            # faked monotonic clock: with a real one it makes the JVM's timed waits
            # (Object.wait) return at once.
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
            # File times stay the disk's: faked, every .pyc of the shared virtualenvs
            # would look stale to the skewed interpreters, which would rewrite them.
            "NO_FAKE_STAT": "1",
        }


@dataclass(frozen=True)
class Window:
    """When a run ran, by this process's (true) clock."""

    start: dt.datetime
    end: dt.datetime

    def holds(self, stamp: dt.datetime, skew: dt.timedelta) -> bool:
        return self.start + skew - STAMP_TOLERANCE <= stamp <= self.end + skew + STAMP_TOLERANCE


def debian_packages(packages: list[str], needed_for: str) -> None:
    """Install `packages` (as root, like the CI machine), or skip the test saying why."""
    command = ["apt-get", "install", "-y", "-qq", *packages]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{needed_for} needs {' '.join(command)} (as root)")
    installed = subprocess.run(command, capture_output=True, text=True, check=False)
    if installed.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
        installed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert installed.returncode == 0, f"{' '.join(command)} failed: {installed.stderr[-2000:]}"


def libfaketime() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def skewing_preload(tmp_path_factory: pytest.TempPathFactory) -> str:
    """LD_PRELOAD for a skewed runner: the sleep shim, then Debian's libfaketime."""
    if libfaketime() is None:
        debian_packages(["libfaketime"], "skewing the runner's clock")
    if shutil.which("cc") is None:
        debian_packages(["gcc", "libc6-dev"], "building the sleep shim for libfaketime")
    faked = libfaketime()
    assert faked is not None, "libfaketime installed, yet no /usr/lib/*/faketime/libfaketime.so.1"
    build = tmp_path_factory.mktemp("faketime-shim")
    (build / "shim.c").write_text(REAL_MONOTONIC_SLEEP_SHIM)
    compiled = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-Wall", "-o", "shim.so", "shim.c"], cwd=build,
                              capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stderr
    return f"{build / 'shim.so'}:{faked}"


def own_job(env: dict[str, str], database: str, workdir: Path) -> dict[str, str]:
    """The same job into another database, with an MLflow, dbt target, logs and report of
    its own: each run is a first run (no champion model, no previous build), as the
    baseline's is."""
    workdir.mkdir()
    return {
        **env,
        "WAREHOUSE_DB": database,
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlflow.db",
        "MLFLOW_ARTIFACT_ROOT": str(workdir / "mlflow-artifacts"),
        "DBT_TARGET_PATH": str(workdir / "dbt-target"),
        "REPORT_PATH": str(workdir / "health.html"),
        "RUN_LOG_DIR": str(workdir / "logs"),
    }


def run_as(runner: Runner, env: dict[str, str], preload: str, run_id: str) -> tuple[Window, str]:
    """The whole job as `make run` runs it, by that runner; its window and stderr."""
    clean = {name: value for name, value in env.items()
             if name not in {"TZ", "LD_PRELOAD"} and not name.startswith(("FAKETIME", "NO_FAKE_STAT"))}
    start = dt.datetime.now(dt.UTC)
    result = run_daily({**clean, **runner.environment(preload)}, "--run-id", run_id)
    window = Window(start, dt.datetime.now(dt.UTC))
    assert result.returncode == 0, f"{runner.label}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return window, result.stderr


def assert_the_runner_saw(runner: Runner, window: Window, stderr: str, server: LocalPostgres,
                          database: str) -> None:
    """The zone and the skew reached the runner's processes: the supervisor's log lines
    are in the zone's local time, and the supervisor, the loader and the recommender each
    stamped the skewed time."""
    stamps = [dt.datetime.strptime(match["stamp"], "%Y-%m-%dT%H:%M:%S%z")
              for match in SUPERVISOR_LOG_LINE.finditer(stderr)]
    assert stamps, f"no startup line of the supervisor in its stderr:\n{stderr[-2000:]}"
    for stamp in stamps:
        assert stamp.utcoffset() == ZoneInfo(runner.zone).utcoffset(stamp.replace(tzinfo=None)), stamp
        assert window.holds(stamp, runner.skew), f"{runner.label}: the supervisor logged {stamp}, run {window}"
    with server.connect(database) as connection:
        stamped = connection.execute(
            "select (select max(started_at) from ops.pipeline_runs),"
            " (select max(loaded_at) from staging.stg_tracks),"
            " (select max(generated_at) from ml.user_recommendations)").fetchone()
    for who, stamp in zip(("supervisor", "loader", "recommender"), stamped, strict=True):
        assert stamp is not None and window.holds(stamp, runner.skew), \
            f"{runner.label}: the {who} stamped {stamp}, run {window}"


def business_relations(connection: psycopg.Connection) -> list[str]:
    return [relation for (relation,) in connection.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema = any(%s) or table_schema || '.' || table_name = any(%s) order by 1",
        (list(BUSINESS_SCHEMAS), list(BUSINESS_RELATIONS)))]


def hashable(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value  # arrays (listen histories)


def business_rows(connection: psycopg.Connection, relation: str) -> tuple[list[str], Counter[tuple[Hashable, ...]]]:
    """The relation's business columns and its rows on them, as a multiset."""
    schema, table = relation.split(".")
    columns = [name for name, data_type in connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position", (schema, table))
        if not is_audit_column(name, data_type)]
    query = sql.SQL("select {} from {}").format(sql.SQL(", ").join(map(sql.Identifier, columns)),
                                                  sql.Identifier(schema, table))
    return columns, Counter(tuple(map(hashable, row)) for row in connection.execute(query))


def business_differences(server: LocalPostgres, baseline: str, other: str) -> tuple[list[str], int]:
    """How the two databases' business rows differ (nothing when equal), and how many rows
    were compared."""
    with server.connect(baseline) as expected, server.connect(other) as actual:
        relations = business_relations(expected)
        assert set(BUSINESS_RELATIONS) <= set(relations), f"the baseline lacks some of {BUSINESS_RELATIONS}"
        if business_relations(actual) != relations:
            return [f"relations differ: {relations} vs {business_relations(actual)}"], 0
        differences, compared = [], 0
        for relation in relations:
            (columns, rows), (other_columns, other_rows) = (business_rows(expected, relation),
                                                            business_rows(actual, relation))
            compared += rows.total()
            if columns != other_columns:
                differences.append(f"{relation}: columns {columns} vs {other_columns}")
            elif rows != other_rows:
                missing, extra = list((rows - other_rows).elements()), list((other_rows - rows).elements())
                differences.append(f"{relation} {columns}: {len(missing)} rows only in {baseline}, e.g. {missing[:2]};"
                                   f" {len(extra)} only in {other}, e.g. {extra[:2]}")
    return differences, compared


def hours_since_load(server: LocalPostgres, database: str) -> float:
    """The freshness the run's health check recorded for raw.tracks, right after loading it."""
    with server.connect(database) as connection:
        return connection.execute("select value from ops.pipeline_health"
                                  " where metric = 'hours_since_load' and subject = 'raw.tracks'").fetchone()[0]


def test_a_runner_in_another_zone_with_its_clock_a_day_off_loads_the_same_business_rows(
    postgres_server: LocalPostgres, ops_env: dict[str, str], tmp_path: Path, skewing_preload: str
) -> None:
    baseline = Runner("UTC")
    window, stderr = run_as(baseline, ops_env, skewing_preload, "clock-utc")
    assert statuses(postgres_server, ops_env) == {"clock-utc": "success"}
    assert_warehouse_is_the_truth(postgres_server, ops_env)
    assert_the_runner_saw(baseline, window, stderr, postgres_server, ops_env["WAREHOUSE_DB"])

    measured = []
    for days in SKEWS_IN_DAYS:
        runner = Runner(ZONE, days)
        database = f"{ops_env['WAREHOUSE_DB']}_{'behind' if days < 0 else 'ahead'}_{abs(days)}d"
        recreate_database(postgres_server, database)
        env = own_job(ops_env, database, tmp_path / database)
        run_id = f"clock-{days:+d}d"
        window, stderr = run_as(runner, env, skewing_preload, run_id)
        assert statuses(postgres_server, env) == {run_id: "success"}, runner.label
        assert_warehouse_is_the_truth(postgres_server, env)
        assert_the_runner_saw(runner, window, stderr, postgres_server, database)
        differences, compared = business_differences(postgres_server, ops_env["WAREHOUSE_DB"], database)
        assert not differences, f"{runner.label} vs UTC:\n" + "\n".join(differences)
        measured.append(f"{days:+d} day: {compared} rows equal, dbt's freshness read"
                        f" {hours_since_load(postgres_server, database):.1f} h since the load just made")

    print(f"outcome: the job with TZ=UTC and with TZ={ZONE} and the runner's clock one day behind, then"
          " ahead (libfaketime) succeeded each time, and each warehouse equals the stand-in's truth;"
          " the business rows (raw, staging, snapshots, marts, pii, identity conflicts, id maps,"
          " recommendations with their scores; without _sdc_* and pipeline-stamped times) equal UTC's: "
          + "; ".join(measured)
          + " (the runner stamps the load time, the warehouse's clock measures it)")
