"""The short summary `make run` prints at the end: one table of the run's steps, what
landed where, the thresholds crossed, and where to look.

It reads what the run already recorded rather than asking the steps again: the run
ledger (ops.pipeline_steps, ops.pipeline_health), the warehouse (rows per table), dbt's
run_results.json, and the run log, where Soda prints its contract totals and the
recommender its `event=...` lines.
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


def connect_warehouse() -> psycopg.Connection:
    # A bounded wait: a port that accepts connections but never answers must not hang the run.
    return psycopg.connect(
        warehouse_url(), password=os.environ.get("WAREHOUSE_PASSWORD") or None, autocommit=True, connect_timeout=15
    )


def table_rows() -> dict[str, int | None]:
    """Rows per table and the monitored figures; None for what the run did not reach."""
    counts: dict[str, int | None] = {}
    with connect_warehouse() as connection:
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
    """The recommender's decision (trained, promoted, kept, skipped) from its last line."""
    run = event_fields(log_text, "run_complete")
    if not run:
        return "not run"
    metrics = " · ".join(
        f"{name}={run[name]}" for name in ("ndcg_at_10", "champion_ndcg_at_10", "popularity_ndcg_at_10") if name in run
    )
    served = f"champion version {run['model_version']}" if "model_version" in run else "no champion"
    return f"{run.get('decision', '?')} ({run.get('reason', '')}) · {served} · {metrics}"


def step_table(run_id: str) -> tuple[list[str], list[str]]:
    """The run's steps (status, seconds, key figures) and the thresholds it crossed, from the ledger."""
    with connect_warehouse() as connection:
        if connection.execute("select to_regclass('ops.pipeline_steps')").fetchone()[0] is None:
            return [], []
        steps = connection.execute(
            "select s.step, s.status, s.duration_s, string_agg(f.subject || ' ' || f.metric || '='"
            " || trim_scale(round(f.value::numeric, 4)), ', ' order by f.subject, f.metric)"
            " filter (where f.metric in ('records_read', 'records_loaded', 'retries', 'http_429',"
            " 'models_success', 'tests_pass', 'tests_fail', 'contracts_passed', 'contracts_failed',"
            " 'ndcg_at_10', 'popularity_ndcg_at_10', 'users_scored'))"
            " from ops.pipeline_steps s left join ops.pipeline_figures f using (run_id, step)"
            " where s.run_id = %s group by s.step_index, s.step, s.status, s.duration_s order by s.step_index",
            (run_id,),
        ).fetchall()
        breaches = connection.execute(
            "select metric, subject, message from ops.pipeline_health where run_id = %s and breached"
            " order by metric, subject",
            (run_id,),
        ).fetchall()
    lines = [f"  {'step':<32} {'status':<8} {'seconds':>8}  figures"]
    for step, status, seconds, figures in steps:
        shown = "-" if seconds is None else f"{seconds:.1f}"
        lines.append(f"  {step:<32} {status:<8} {shown:>8}  {figures or ''}".rstrip())
    return lines, [f"  {metric} · {subject}: {message}" for metric, subject, message in breaches]


def print_summary(run_id: str, job_succeeded: bool, log_path: Path, seconds: float, report: Path | None) -> None:
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    status = "SUCCESS" if job_succeeded else "FAILED"
    print()
    print(f"=== MooVitamix daily run: {status} in {seconds:.0f} s (run {run_id}) ===")
    try:
        steps, breaches = step_table(run_id)
        print("\n".join(steps))
        print()
        for table, rows in table_rows().items():
            print(f"  {table:<32} {'-' if rows is None else rows:>8}")
    except psycopg.Error as error:
        steps, breaches = [], []
        print(f"  warehouse unreachable: {error}".rstrip())
    print(f"  {'dbt build':<32} {dbt_results()}")
    print(f"  {'Soda contracts':<32} {soda_results(log_text)}")
    print(f"  {'model':<32} {model_results(log_text)}")
    print(f"Thresholds crossed: {len(breaches)}")
    for breach in breaches:
        print(breach)
    print("Where to look:")
    print(f"  warehouse   psql {warehouse_url()}  (ledger: ops.pipeline_runs, ops.pipeline_steps)")
    print(f"  run log     {log_path}  (JSON lines: {log_path.with_suffix('.jsonl')})")
    print("  MLflow      make mlflow-ui  (http://127.0.0.1:5000)")
    print("  dbt docs    make docs  (http://127.0.0.1:8080)")
    print(f"  health report {report if report else 'not written (see the errors above)'}")
