"""Each step's own figures, read from what the step leaves behind.

- extract-load: in Meltano's JSON log, the tap's `event=progress` / `event=stream_complete`
  lines and the singer-sdk `METRIC:` lines of the tap (read) and of target-postgres (loaded);
  raw.rejected_records rows stamped with the run id;
- dbt: run_results.json (models built, tests passed/failed), ops.identity_conflicts;
  sources.json of `dbt source freshness` (hours since each source's last load, and the
  warning bound sources.yml sets: the platform's one definition of freshness);
- Soda: the results file quality/verify.py writes to the run folder (soda-results.json);
- the warehouse after the run: rows per table, orphan listens, freshness per source.

The recommender's figures are not copied here: its row in ml.training_runs is their one
home in the warehouse (orchestrate/training_runs.py reads it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
from collections.abc import Iterable
from pathlib import Path

import psycopg

from orchestrate.ledger import Figure
from orchestrate.meltano_log import OutputLine
from orchestrate.project import PROJECT_ROOT
from orchestrate.summary import TABLES

METRIC = re.compile(r"METRIC: (?P<json>\{.*\})\s*$")
# A Soda check outcome as a number: passed 1, warned 0.5, failed 0 (not evaluated: none).
OUTCOME_VALUE = {"PASSED": 1.0, "WARN": 0.5, "FAILED": 0.0}
SODA_RESULTS = "soda-results.json"  # quality/results.py
SOURCES = ("tracks", "users", "listen_history")


def event_fields(message: str) -> dict[str, str]:
    """The key=value fields of a structured line, from its `event=` on; {} if none."""
    start = message.find("event=")
    if start < 0:
        return {}
    try:
        tokens = shlex.split(message[start:])
    except ValueError:  # an unbalanced quote in a free-text value
        tokens = message[start:].split()
    return dict(token.split("=", 1) for token in tokens if "=" in token)


def number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "None") else None
    except ValueError:
        return None


def extract_figures(step: str, lines: Iterable[OutputLine]) -> list[Figure]:
    figures: dict[tuple[str, str], Figure] = {}

    def put(subject: str, metric: str, value: float | None) -> None:
        figures[(subject, metric)] = Figure(step, subject, metric, value)

    completed: set[str] = set()
    for line in lines:
        plugin, message = line.plugin, line.message
        fields = event_fields(message)
        if fields.get("event") in ("stream_complete", "stream_failed") and "stream" in fields:
            stream = fields["stream"]
            completed.add(stream)
            for source, metric in (("records", "records_read"), ("pages", "pages"), ("retries", "retries"),
                                   ("http_429", "http_429"), ("rejected", "rejected")):
                if source in fields:
                    put(stream, metric, number(fields[source]))
        elif fields.get("event") == "progress" and "stream" in fields and fields["stream"] not in completed:
            put(fields["stream"], "pages", number(fields.get("pages_read")))
            put(fields["stream"], "records_read", number(fields.get("records")))
        metric = METRIC.search(message)
        if metric:
            body = json.loads(metric["json"])
            stream = body.get("tags", {}).get("stream")
            if not stream or body.get("metric") not in ("record_count", "http_request_count"):
                continue
            if body["metric"] == "http_request_count" and plugin.startswith("tap"):
                previous = figures.get((stream, "http_requests"))
                put(stream, "http_requests", (previous.value if previous else 0) + body["value"])
            elif plugin.startswith("target"):
                previous = figures.get((stream, "records_loaded"))
                put(stream, "records_loaded", (previous.value or 0 if previous else 0) + body["value"])
            elif stream not in completed and (stream, "records_read") not in figures:
                put(stream, "records_read", body["value"])
    return list(figures.values())


def soda_figures(step: str, run_dir: Path, step_started: dt.datetime) -> list[Figure]:
    """Per-check and per-contract outcomes and the totals, from this step's results file."""
    document = _document_since(run_dir / SODA_RESULTS, step_started)
    if document is None:
        return []
    totals = document["totals"]
    figures = [
        Figure(step, "soda", metric, float(totals[key]))
        for metric, key in (("contracts_passed", "passed"), ("contracts_failed", "failed"),
                            ("contracts_errored", "errors"), ("warnings", "warnings"))
    ]
    for contract in document["contracts"]:
        outcome = contract["outcome"]
        figures.append(Figure(step, contract["name"], "contract_passed", 1.0 if outcome.startswith("PASSED") else 0.0,
                              outcome if contract["error"] is None else f"{outcome}: {contract['error']}"[:2000]))
        for check in contract["checks"]:
            column = f"{check['column']}: " if check["column"] else ""
            measured = json.dumps(check["measured"], default=str)
            figures.append(Figure(step, f"{contract['name']} · {column}{check['name']}", "check_passed",
                                  OUTCOME_VALUE.get(check["outcome"]), f"{check['outcome']} {measured}"[:2000]))
    return figures


def _document_since(path: Path, started: dt.datetime) -> dict | None:
    """A tool's JSON results file, if this step wrote it (not a previous step's copy)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    stamp = document.get("generated_at") or document.get("metadata", {}).get("generated_at")
    if stamp is None or dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) < started:
        return None
    return document


def dbt_target() -> Path:
    """Where dbt writes its artifacts (DBT_TARGET_PATH, as dbt itself reads it)."""
    return Path(os.environ.get("DBT_TARGET_PATH", PROJECT_ROOT / "transform" / "target"))


def dbt_figures(step: str, step_started: dt.datetime) -> list[Figure]:
    document = _document_since(dbt_target() / "run_results.json", step_started)
    if document is None:  # no build, or a previous build's file: no figure rather than a stale one
        return []
    counts: dict[str, float] = {}
    failures: list[str] = []
    for result in document["results"]:
        kind = result["unique_id"].split(".")[0]
        status = result["status"]
        key = {"model": "models", "snapshot": "snapshots", "test": "tests", "unit_test": "unit_tests"}.get(kind, kind)
        counts[f"{key}_{status}"] = counts.get(f"{key}_{status}", 0) + 1
        if status in ("error", "fail"):
            failures.append(result["unique_id"])
    figures = [Figure(step, "dbt", metric, value) for metric, value in sorted(counts.items())]
    figures.append(Figure(step, "dbt", "failures", float(len(failures)), ", ".join(failures)[:2000] or None))
    return figures


def freshness_figures(step: str, step_started: dt.datetime) -> list[Figure]:
    """Per source: hours since its last load (detail: dbt's status) and its warn_after in hours."""
    document = _document_since(dbt_target() / "sources.json", step_started)
    if document is None:
        return []
    figures: list[Figure] = []
    for result in document["results"]:
        table = f"raw.{result['unique_id'].rsplit('.', 1)[-1]}"
        age = result.get("max_loaded_at_time_ago_in_s")
        figures.append(Figure(step, table, "hours_since_load", age / 3600 if age is not None else None,
                              result["status"]))
        warn_after = _hours((result.get("criteria") or {}).get("warn_after"))
        if warn_after is not None:
            figures.append(Figure(step, table, "freshness_warn_after_hours", warn_after))
    return figures


def _hours(period: dict | None) -> float | None:
    """dbt's {count: 26, period: hour} in hours."""
    if not period or period.get("count") is None:
        return None
    return float(period["count"]) * {"minute": 1 / 60, "hour": 1.0, "day": 24.0}[period["period"]]


def identity_conflict_figures(connection: psycopg.Connection, step: str, run_started: dt.datetime) -> list[Figure]:
    if not _exists(connection, "ops.identity_conflicts"):
        return []
    total, new = connection.execute(
        "select count(distinct (entity, entity_id)),"
        " count(distinct (entity, entity_id)) filter (where loaded_at >= %s) from ops.identity_conflicts",
        (run_started,),
    ).fetchone()
    return [Figure(step, "identity_conflicts", "total", total), Figure(step, "identity_conflicts", "new", new)]


def rejected_figures(connection: psycopg.Connection, step: str, run_id: str) -> list[Figure]:
    if not _exists(connection, "raw.rejected_records"):
        return []
    rows = connection.execute(
        "select stream, count(*) from raw.rejected_records where run_id = %s group by stream", (run_id,)
    ).fetchall()
    return [Figure(step, stream, "rejected_records", count) for stream, count in rows]


def warehouse_figures(connection: psycopg.Connection) -> list[Figure]:
    """Rows per table, orphan listens and freshness per source after the run."""
    figures: list[Figure] = []
    for table in TABLES:
        if _exists(connection, table):
            rows = connection.execute(f"select count(*) from {table}").fetchone()[0]
            figures.append(Figure("warehouse", table, "rows", rows))
    if _exists(connection, "marts.fct_listens"):
        orphans, listens = connection.execute(
            "select count(*) filter (where not is_known_track), count(*) from marts.fct_listens"
        ).fetchone()
        figures.append(Figure("warehouse", "marts.fct_listens", "orphan_listens", orphans))
        figures.append(Figure("warehouse", "marts.fct_listens", "orphan_ratio", orphans / listens if listens else 0.0))
    for source in SOURCES:
        if _exists(connection, f"raw.{source}"):
            updated, loaded = connection.execute(
                f"select max(updated_at), max(_sdc_batched_at) from raw.{source}"
            ).fetchone()
            figures.append(Figure("warehouse", f"raw.{source}", "latest_updated_at", _epoch(updated), _iso(updated)))
            figures.append(Figure("warehouse", f"raw.{source}", "latest_loaded_at", _epoch(loaded), _iso(loaded)))
    return figures


def _exists(connection: psycopg.Connection, table: str) -> bool:
    return connection.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    # raw timestamps are naive UTC (api-contract.md); _sdc_batched_at may be either.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _epoch(value: dt.datetime | None) -> float | None:
    utc = _as_utc(value)
    return utc.timestamp() if utc else None


def _iso(value: dt.datetime | None) -> str | None:
    utc = _as_utc(value)
    return utc.isoformat() if utc else None
