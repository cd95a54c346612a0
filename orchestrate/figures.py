"""Each step's own figures, read from what the step leaves behind.

- extract-load: the tap's `event=progress` / `event=stream_complete` lines and the
  singer-sdk `METRIC:` lines of the tap (read) and of target-postgres (loaded);
  raw.rejected_records rows stamped with the run id;
- dbt: run_results.json (models built, tests passed/failed), ops.identity_conflicts;
- Soda: the contract blocks and per-check result tables quality/verify.py prints;
- recommender: its row in ml.training_runs when that table exists, else its
  `event=evaluated|scored|model_registered` lines;
- the warehouse after the run: rows per table, orphan listens, freshness per source.
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
from orchestrate.local_postgres import PROJECT_ROOT
from orchestrate.summary import TABLES

# Meltano's console line: "<ts> [info     ] <plugin> <message>".
MELTANO_LINE = re.compile(r"^\S+ \[\s*\w+\s*\] (?P<plugin>\S+)\s+(?P<message>.*)$")
METRIC = re.compile(r"METRIC: (?P<json>\{.*\})\s*$")
SODA_CONTRACT = re.compile(r"^=== contract (?P<name>\S+) \(")
SODA_OUTCOME = re.compile(r"^=== contract (?P<name>\S+): (?P<outcome>[A-Z_]+) \(soda exit (?P<code>\d+)\) ===")
SODA_TOTALS = re.compile(r"^passed: (\d+), failed: (\d+), errors: (\d+)")
SODA_WARNINGS = re.compile(r"^warnings: (\d+)$")
SODA_CHECK_OUTCOME = re.compile(r"[A-Z][A-Z_]{3,}")
OUTCOME_VALUE = {"PASSED": 1.0, "WARNED": 0.5, "WARN": 0.5, "FAILED": 0.0}
SOURCES = ("tracks", "users", "listen_history")
# ml.training_runs columns kept as figures (numbers) and as detail (text).
MODEL_NUMBERS = (
    "ndcg_at_10", "champion_ndcg_at_10", "popularity_ndcg_at_10", "precision_at_10", "recall_at_10",
    "map_at_10", "coverage", "users_scored", "cold_start_users", "interactions_rows",
)


def split_line(line: str) -> tuple[str, str]:
    """(plugin, message) of a Meltano output line; ('', line) for anything else."""
    match = MELTANO_LINE.match(line.rstrip("\n"))
    return (match["plugin"], match["message"]) if match else ("", line.rstrip("\n"))


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


def extract_figures(step: str, lines: Iterable[str]) -> list[Figure]:
    figures: dict[tuple[str, str], Figure] = {}

    def put(subject: str, metric: str, value: float | None) -> None:
        figures[(subject, metric)] = Figure(step, subject, metric, value)

    completed: set[str] = set()
    for line in lines:
        plugin, message = split_line(line)
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


def soda_figures(step: str, lines: Iterable[str]) -> list[Figure]:
    """Per-check outcomes from Soda's result tables, per-contract outcomes, and the totals."""
    figures: list[Figure] = []
    contract = ""
    for line in lines:
        _, message = split_line(line)
        if match := SODA_OUTCOME.match(message):
            figures.append(Figure(step, match["name"], "contract_passed",
                                  1.0 if match["outcome"].startswith("PASSED") else 0.0, match["outcome"]))
        elif match := SODA_CONTRACT.match(message):
            contract = match["name"]
        elif match := SODA_TOTALS.match(message):
            for metric, value in zip(("contracts_passed", "contracts_failed", "contracts_errored"), match.groups(),
                                     strict=True):
                figures.append(Figure(step, "soda", metric, float(value)))
        elif match := SODA_WARNINGS.match(message):
            figures.append(Figure(step, "soda", "warnings", float(match[1])))
        elif contract and message.startswith("|") and message.count("|") >= 6:
            cells = [cell.strip() for cell in message.strip("|").split("|")]
            # "✅ PASSED", "❌ FAILED", "⚠️ WARN", "❓ NOT_EVALUATED"; the header says "Outcome".
            found = SODA_CHECK_OUTCOME.search(cells[3])
            if found and cells[1]:
                outcome = found[0]
                column = f"{cells[0]}: " if cells[0] and cells[0] != "[dataset-level]" else ""
                subject = f"{contract} · {column}{cells[1]}"
                figures.append(Figure(step, subject, "check_passed", OUTCOME_VALUE.get(outcome), outcome))
    return figures


def dbt_figures(step: str, step_started: dt.datetime) -> list[Figure]:
    target = Path(os.environ.get("DBT_TARGET_PATH", PROJECT_ROOT / "transform" / "target"))
    try:
        document = json.loads((target / "run_results.json").read_text())
    except (OSError, ValueError):
        return []
    generated = dt.datetime.fromisoformat(document["metadata"]["generated_at"].replace("Z", "+00:00"))
    if generated < step_started:  # a previous build's file: no figure rather than a stale one
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


def model_figures(connection: psycopg.Connection, step: str, run_id: str, lines: list[str]) -> list[Figure]:
    if _exists(connection, "ml.training_runs"):
        columns = {row[0] for row in connection.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'ml' and table_name = 'training_runs'"
        )}
        wanted = [c for c in (*MODEL_NUMBERS, "decision", "reason", "model_version") if c in columns]
        if "run_id" in columns and wanted:
            row = connection.execute(
                f"select {', '.join(wanted)} from ml.training_runs where run_id = %s", (run_id,)
            ).fetchone()
            if row:
                values = dict(zip(wanted, row, strict=True))
                figures = [Figure(step, "model", c, number(str(values[c]))) for c in MODEL_NUMBERS if c in values]
                decision = " · ".join(str(values[c]) for c in ("decision", "reason") if values.get(c) is not None)
                figures.append(Figure(step, "model", "model_version", number(str(values.get("model_version"))),
                                      decision or None))
                return figures
    return _model_figures_from_log(step, lines)


def _model_figures_from_log(step: str, lines: list[str]) -> list[Figure]:
    names = {"model_ndcg_at_10": "ndcg_at_10", "baseline_ndcg_at_10": "popularity_ndcg_at_10",
             "model_precision_at_10": "precision_at_10", "model_recall_at_10": "recall_at_10",
             "users": "users_scored", "version": "model_version", "coverage": "coverage"}
    figures: dict[str, Figure] = {}
    for line in lines:
        fields = event_fields(split_line(line)[1])
        if fields.get("event") in ("evaluated", "scored", "model_registered", "run_complete"):
            for source, metric in names.items():
                if source in fields and number(fields[source]) is not None:
                    figures[metric] = Figure(step, "model", metric, number(fields[source]))
            if "decision" in fields:
                figures["decision"] = Figure(step, "model", "decision", None, fields["decision"])
    return list(figures.values())


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
