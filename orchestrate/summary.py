"""The short summary `make run` prints at the end: what landed where, and where to look.

It reads what the steps already leave behind rather than asking them again: the
warehouse (rows per table), dbt's run_results.json, and the run log, where Soda prints
its contract totals and the recommender its `event=...` lines.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import psycopg

from orchestrate.local_postgres import PROJECT_ROOT

TABLES = [
    "raw.tracks",
    "raw.users",
    "raw.listen_history",
    "marts.dim_tracks",
    "marts.dim_users",
    "marts.fct_listens",
    "marts.user_track_interactions",
    "marts.daily_volumes",
    "pii.users",
    "ml.user_recommendations",
    "raw.rejected_records",
    "ops.identity_conflicts",
]
# Figures that are not a table's size, each one query (a monitored metric).
FIGURES = {
    "listens of unknown tracks": "select count(*) from marts.fct_listens where not is_known_track",
}
SODA_TOTALS = re.compile(r"passed: (\d+), failed: (\d+), errors: (\d+)")
SODA_WARNINGS = re.compile(r"warnings: (\d+)$", re.M)


def warehouse_url() -> str:
    user = os.environ.get("WAREHOUSE_USER", "moovitamix")
    host = os.environ.get("WAREHOUSE_HOST", "127.0.0.1")
    port = os.environ.get("WAREHOUSE_PORT", "5433")
    return f"postgresql://{user}@{host}:{port}/{os.environ.get('WAREHOUSE_DB', 'moovitamix')}"


def table_rows() -> dict[str, int | None]:
    """Rows per table and the monitored figures; None for what the run did not reach."""
    counts: dict[str, int | None] = {}
    with psycopg.connect(
        warehouse_url(), password=os.environ.get("WAREHOUSE_PASSWORD") or None, autocommit=True
    ) as connection:
        for table in TABLES:
            exists = connection.execute("select to_regclass(%s)", (table,)).fetchone()[0]
            counts[table] = connection.execute(f"select count(*) from {table}").fetchone()[0] if exists else None
        for name, query in FIGURES.items():
            try:
                counts[name] = connection.execute(query).fetchone()[0]
            except psycopg.errors.UndefinedTable:
                counts[name] = None
    return counts


def dbt_results() -> str:
    target = Path(os.environ.get("DBT_TARGET_PATH", PROJECT_ROOT / "transform" / "target"))
    try:
        results = json.loads((target / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return "no run_results.json"
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    models = [r for r in results if r["unique_id"].startswith("model.")]
    passed = sum(r["status"] == "pass" for r in tests)
    return (
        f"{sum(r['status'] == 'success' for r in models)}/{len(models)} models built, "
        f"{passed}/{len(tests)} tests passed"
    )


def event_fields(log_text: str, event: str) -> dict[str, str]:
    """The key=value fields of the last `event=<event>` line of the log."""
    lines = [line for line in log_text.splitlines() if f"event={event} " in line or line.endswith(f"event={event}")]
    if not lines:
        return {}
    tail = lines[-1][lines[-1].index(f"event={event}") :]
    return dict(token.split("=", 1) for token in shlex.split(tail) if "=" in token)


def soda_results(log_text: str) -> str:
    totals = SODA_TOTALS.findall(log_text)
    if not totals:
        return "not run"
    passed, failed, errors = totals[-1]
    warnings = SODA_WARNINGS.findall(log_text)
    return f"{passed} contracts passed, {failed} failed, {errors} errors, {warnings[-1] if warnings else 0} warnings"


def model_results(log_text: str) -> str:
    evaluated = event_fields(log_text, "evaluated")
    registered = event_fields(log_text, "model_registered")
    if not registered:
        return "not trained"
    metrics = " · ".join(f"{name}={value}" for name, value in evaluated.items() if "_at_" in name)
    return f"{registered.get('name')} version {registered.get('version')} · {metrics}"


def print_summary(job_succeeded: bool, log_path: Path, seconds: float) -> None:
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    status = "SUCCESS" if job_succeeded else "FAILED"
    print()
    print(f"=== MooVitamix daily run: {status} in {seconds:.0f} s ===")
    try:
        for table, rows in table_rows().items():
            print(f"  {table:<32} {'-' if rows is None else rows:>8}")
    except psycopg.Error as error:
        print(f"  warehouse unreachable: {error}".rstrip())
    print(f"  {'dbt build':<32} {dbt_results()}")
    print(f"  {'Soda contracts':<32} {soda_results(log_text)}")
    print(f"  {'model':<32} {model_results(log_text)}")
    print("Where to look:")
    print(f"  warehouse   psql {warehouse_url()}")
    print(f"  run log     {log_path}")
    print("  MLflow      make mlflow-ui  (http://127.0.0.1:5000)")
    print("  dbt docs    make docs  (http://127.0.0.1:8080)")
