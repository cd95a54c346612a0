"""Benchmark of extract-load: the real pipeline against a baseline.

    .venv/bin/python -m benchmarks.bench_el [--records 100000] [--page-size 100] [--no-breakdown]

1. starts the stand-in (`python -m api.stand_in`) with N records per endpoint on a free port, and
   the project-local Postgres (WAREHOUSE_PORT / WAREHOUSE_DATA_DIR; started here if it is
   not running, then stopped again) with a database of its own, `bench_el`;
2. pipeline: times the real `meltano run tap-moovitamix target-postgres` (a Meltano system
   DB and run directory of its own, so no state and no catalog is shared), start-up
   included: that is what a daily run costs;
3. baseline, in the same run, right before AND right after the pipeline: the same pages
   fetched with a plain `requests.Session`, one after the other, and written with `COPY`
   (psycopg) into scratch tables of the same columns: the least any loader has to do.
   The ratio uses the mean of the two baseline rates: on a shared 2-core machine the
   load of other processes drifts, and a single baseline taken before or after would
   bias the ratio whichever way the load moved (both rates are printed, with the load
   average around the run);
4. breakdown (unless --no-breakdown): the tap alone, its output thrown away, and the
   phases read from Meltano's log, to show where the pipeline's time goes.

Prints both rates and their ratio; the last line is a JSON object with at least
`records`, `pipeline_records_per_s`, `baseline_records_per_s` and `ratio`.
Target: ratio >= 0.5 at 100,000 records per endpoint.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import requests

from local.ports import free_port
from local.postgres import LocalPostgres
from local.stand_in import running_stand_in
from orchestrate.project import PROJECT_ROOT, load_dotenv

DATABASE = "bench_el"
ENDPOINTS = ("tracks", "users", "listen_history")
MELTANO = PROJECT_ROOT / ".venv" / "bin" / "meltano"
TAP = PROJECT_ROOT / ".meltano" / "extractors" / "tap-moovitamix" / "venv" / "bin" / "tap-moovitamix"
# Columns of the baseline's scratch tables: the contract's fields, typed as raw.* types them.
COLUMNS = {
    "tracks": {
        "id": "bigint",
        "name": "text",
        "artist": "text",
        "songwriters": "text",
        "duration": "text",
        "genres": "text",
        "album": "text",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    "users": {
        "id": "bigint",
        "first_name": "text",
        "last_name": "text",
        "email": "text",
        "gender": "text",
        "favorite_genres": "text",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    "listen_history": {"user_id": "bigint", "items": "bigint[]", "created_at": "timestamp", "updated_at": "timestamp"},
}


def log(message: str) -> None:
    print(message, flush=True)


# --- the servers ------------------------------------------------------------------------


def stand_in(records: int, workdir: Path) -> AbstractContextManager[str]:
    """The stand-in with `records` per endpoint, no fault; stopped by its pid at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOVITAMIX_API_")}
    env["MOOVITAMIX_API_RECORDS"] = str(records)
    return running_stand_in(env, free_port(), workdir / "api.log", timeout_s=120)


@contextmanager
def warehouse() -> Iterator[LocalPostgres]:
    """The project-local Postgres; stopped at the end only if this benchmark started it."""
    server = LocalPostgres.from_env()
    started_here = not server.is_running()
    server.start()
    try:
        server.fresh_database(DATABASE)
        yield server
    finally:
        if started_here:
            server.stop()


def connect(server: LocalPostgres, database: str) -> psycopg.Connection:
    return server.connect(database)


# --- pipeline ---------------------------------------------------------------------------


def private_sys_dir(workdir: Path) -> Path:
    """`.meltano` with the installed plugins but a `run/` of its own (see tests/el_harness.py)."""
    private = workdir / "meltano-sys"
    private.mkdir()
    for entry in (PROJECT_ROOT / ".meltano").iterdir():
        if entry.name not in {"run", "logs", "meltano.db"}:
            (private / entry.name).symlink_to(entry)
    return private


def pipeline_env(server: LocalPostgres, api_url: str, workdir: Path, page_size: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_MOOVITAMIX_", "TARGET_POSTGRES_"))}
    env.update(
        WAREHOUSE_HOST="127.0.0.1",
        WAREHOUSE_PORT=str(server.port),
        WAREHOUSE_USER=server.user,
        WAREHOUSE_DB=DATABASE,
        MELTANO_SYS_DIR_ROOT=str(private_sys_dir(workdir)),
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        TAP_MOOVITAMIX_API_URL=api_url,
        TAP_MOOVITAMIX_PAGE_SIZE=str(page_size),
    )
    return env


def run_pipeline(env: dict[str, str], workdir: Path) -> tuple[float, str]:
    log_path = workdir / "pipeline.log"
    started = time.perf_counter()
    result = subprocess.run(
        [str(MELTANO), "--log-level=info", "run", "tap-moovitamix", "target-postgres"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    output = result.stdout + result.stderr
    log_path.write_text(output)
    if result.returncode != 0:
        raise SystemExit(f"meltano run failed ({result.returncode}); see {log_path}\n{output[-3000:]}")
    return elapsed, output


def loaded_records(server: LocalPostgres) -> dict[str, int]:
    with connect(server, DATABASE) as connection:
        return {
            endpoint: connection.execute(f"select count(*) from raw.{endpoint}").fetchone()[0] for endpoint in ENDPOINTS
        }


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+)Z \[\w+\s*\] (\S+)\s+(.*)$")


def phases(output: str) -> dict[str, float]:
    """Where the pipeline's wall time goes, from the timestamps of Meltano's log."""
    marks: dict[str, dt.datetime] = {}
    sync: dict[str, float] = {}
    batch = 0.0
    for line in output.splitlines():
        match = _STAMP.match(line)
        if not match:
            continue
        when, who, text = dt.datetime.fromisoformat(match.group(1)), match.group(2), match.group(3)
        marks.setdefault("first_line", when)
        # The committed catalog (extractors.meltano.yml) replaces discovery; either marks
        # the moment Meltano is ready to start the plugins.
        if "Running catalog discovery" in text or "Using custom catalog" in text:
            marks.setdefault("catalog", when)
        if who == "tap-moovitamix" and "Beginning sync" in text:
            marks.setdefault("tap_sync_start", when)
        if who == "tap-moovitamix" and "event=stream_complete" in text:
            marks["tap_done"] = when
        if who == "target-postgres" and "completed processing" in text:
            marks["target_input_done"] = when
        if "Run completed" in text:
            marks["end"] = when
        if "METRIC:" in text:
            metric = json.loads(text.split("METRIC:", 1)[1])
            if metric.get("metric") == "sync_duration" and who == "tap-moovitamix":
                sync[metric["tags"]["stream"]] = float(metric["value"])
            if metric.get("metric") == "batch_processing_time":
                batch += float(metric["value"])

    def between(start: str, stop: str) -> float:
        return round((marks[stop] - marks[start]).total_seconds(), 2) if start in marks and stop in marks else -1.0

    return {
        "meltano_start_s": between("first_line", "catalog"),
        "catalog_to_tap_sync_s": between("catalog", "tap_sync_start"),
        "tap_streams_s": round(sum(sync.values()), 2),
        "tap_sync_to_target_input_done_s": between("tap_sync_start", "target_input_done"),
        "target_behind_tap_s": between("tap_done", "target_input_done"),
        "target_batches_s": round(batch, 2),
        "target_input_done_to_end_s": between("target_input_done", "end"),
    }


def run_tap_alone(env: dict[str, str], workdir: Path) -> float:
    """The tap on its own (`--config ENV`), messages to /dev/null: its share of the time."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink, (workdir / "tap-alone.log").open("wb") as err:
        code = subprocess.run([str(TAP), "--config", "ENV"], env=env, stdout=sink, stderr=err, check=False).returncode
    if code != 0:
        raise SystemExit(f"the tap alone failed ({code}); see {workdir / 'tap-alone.log'}")
    return time.perf_counter() - started


# --- baseline ---------------------------------------------------------------------------


def run_baseline(server: LocalPostgres, api_url: str, page_size: int) -> tuple[float, int]:
    """Sequential GETs with one requests.Session, each endpoint streamed into one COPY."""
    with connect(server, DATABASE) as connection:
        connection.execute("drop schema if exists bench_baseline cascade")
        connection.execute("create schema bench_baseline")
        for endpoint, columns in COLUMNS.items():
            typed = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
            connection.execute(f"create table bench_baseline.{endpoint} ({typed})")
    session = requests.Session()
    total = 0
    started = time.perf_counter()
    with connect(server, DATABASE) as connection:
        for endpoint, columns in COLUMNS.items():
            names = list(columns)
            quoted = ", ".join(f'"{name}"' for name in names)
            with (
                connection.cursor() as cursor,
                cursor.copy(f"copy bench_baseline.{endpoint} ({quoted}) from stdin") as copy,
            ):
                page = 1
                while True:
                    response = session.get(
                        f"{api_url}/{endpoint}", params={"page": page, "size": page_size}, timeout=60
                    )
                    response.raise_for_status()
                    body = response.json()
                    for item in body["items"]:
                        copy.write_row([item.get(name) for name in names])
                    total += len(body["items"])
                    if not body["items"] or page >= (body.get("pages") or page + 1):
                        break
                    page += 1
    return time.perf_counter() - started, total


def timed_baseline(server: LocalPostgres, api_url: str, page_size: int, when: str) -> tuple[float, int]:
    seconds, records = run_baseline(server, api_url, page_size)
    log(
        f"baseline {when}: requests.Session + COPY: {records:,} records in {seconds:.1f} s"
        f" = {records / seconds:,.0f} records/s"
    )
    return seconds, records


# --- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="records per endpoint (default 100,000)")
    parser.add_argument("--page-size", type=int, default=100, help="records per page, 1..100 (default 100)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the tap-alone run and the phases")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) for inspection")
    args = parser.parse_args(argv)
    load_dotenv()  # the owner's and the roles' passwords, as `make install` wrote them
    if not 1 <= args.page_size <= 100:
        parser.error("--page-size must be in 1..100")

    workdir = Path(tempfile.mkdtemp(prefix="bench-el-"))
    try:
        with warehouse() as server, stand_in(args.records, workdir) as api_url:
            log(f"bench-el: {args.records:,} records per endpoint, pages of {args.page_size}, work dir {workdir}")
            env = pipeline_env(server, api_url, workdir, args.page_size)

            load_before = os.getloadavg()[0]
            before = timed_baseline(server, api_url, args.page_size, "before the pipeline")

            pipeline_s, output = run_pipeline(env, workdir)
            counts = loaded_records(server)
            records = sum(counts.values())
            pipeline_rate = records / pipeline_s
            log(
                f"pipeline: meltano run tap-moovitamix target-postgres: {records:,} records in {pipeline_s:.1f} s"
                f" = {pipeline_rate:,.0f} records/s ({counts})"
            )

            after = timed_baseline(server, api_url, args.page_size, "after the pipeline")
            if {before[1], after[1]} != {records}:
                raise SystemExit(f"baselines read {before[1]} and {after[1]} records, the pipeline {records}")
            rates = [baseline_records / seconds for seconds, baseline_records in (before, after)]
            baseline_rate = sum(rates) / len(rates)

            result: dict[str, Any] = {
                "records": records,
                "records_per_endpoint": args.records,
                "page_size": args.page_size,
                "pipeline_seconds": round(pipeline_s, 2),
                "pipeline_records_per_s": round(pipeline_rate, 1),
                "baseline_records_per_s": round(baseline_rate, 1),
                "baseline_runs_records_per_s": [round(rate, 1) for rate in rates],
                "ratio": round(pipeline_rate / baseline_rate, 3),
                "ratio_to_faster_baseline": round(pipeline_rate / max(rates), 3),
                "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
            if not args.no_breakdown:
                breakdown = phases(output)
                tap_s = run_tap_alone(env, workdir)
                breakdown["tap_alone_s"] = round(tap_s, 2)
                breakdown["tap_alone_records_per_s"] = round(records / tap_s, 1)
                log("breakdown of the pipeline (seconds): " + ", ".join(f"{k}={v}" for k, v in breakdown.items()))
                result["breakdown"] = breakdown
            verdict = "meets" if result["ratio"] >= 0.5 else "misses"
            log(f"ratio pipeline/baseline: {result['ratio']:.3f} ({verdict} the 0.5 target)")
            print(json.dumps(result), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
