"""The short summary `make run` prints at the end: one table of the run's steps, what
landed where, the thresholds crossed, and where to look.

It reads what the run already recorded rather than asking the steps again: the run
ledger (ops.pipeline_steps, ops.pipeline_health, and ops.pipeline_figures, where each
step's figures were read once from the tool's own results by orchestrate/figures.py) and
the warehouse (rows per table).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

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


def warehouse_url() -> str:
    """The warehouse of WAREHOUSE_* (the shell's, else the project's .env: load_dotenv)."""
    user, host, port, database = (os.environ[f"WAREHOUSE_{name}"] for name in ("USER", "HOST", "PORT", "DB"))
    return f"postgresql://{user}@{host}:{port}/{database}"


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


Figures = dict[tuple[str, str], tuple[float | None, str | None]]


def run_figures(run_id: str) -> Figures:
    """{(subject, metric): (value, detail)} of every step of the run, from the ledger."""
    with connect_warehouse() as connection:
        if connection.execute("select to_regclass('ops.pipeline_figures')").fetchone()[0] is None:
            return {}
        rows = connection.execute(
            "select subject, metric, value, detail from ops.pipeline_figures where run_id = %s", (run_id,)
        ).fetchall()
    return {(subject, metric): (value, detail) for subject, metric, value, detail in rows}


def _count(figures: Figures, subject: str, metric: str) -> int:
    value = figures.get((subject, metric), (None, None))[0]
    return int(value or 0)


def dbt_results(figures: Figures) -> str:
    models = {m: v for (s, m), (v, _) in figures.items() if s == "dbt" and m.startswith("models_")}
    tests = {m: v for (s, m), (v, _) in figures.items() if s == "dbt" and m.startswith("tests_")}
    if not models and not tests:
        return "not run"
    return (
        f"{_count(figures, 'dbt', 'models_success')}/{int(sum(v or 0 for v in models.values()))} models built, "
        f"{_count(figures, 'dbt', 'tests_pass')}/{int(sum(v or 0 for v in tests.values()))} tests passed"
    )


def soda_results(figures: Figures) -> str:
    if ("soda", "contracts_passed") not in figures:
        return "not run"
    return (
        f"{_count(figures, 'soda', 'contracts_passed')} contracts passed, "
        f"{_count(figures, 'soda', 'contracts_failed')} failed, "
        f"{_count(figures, 'soda', 'contracts_errored')} errors, {_count(figures, 'soda', 'warnings')} warnings"
    )


def model_results(figures: Figures) -> str:
    """The recommender's decision (trained, promoted, kept, skipped), its version and scores."""
    if ("model", "model_version") not in figures:
        return "not run"
    version, decision = figures[("model", "model_version")]
    scores = " · ".join(
        f"{name}={figures[('model', name)][0]:.4f}"
        for name in ("ndcg_at_10", "champion_ndcg_at_10", "popularity_ndcg_at_10")
        if figures.get(("model", name), (None, None))[0] is not None
    )
    served = f"champion version {version:.0f}" if version is not None else "popularity (no champion)"
    return f"{decision or '?'} · {served} · {scores}"


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
    status = "SUCCESS" if job_succeeded else "FAILED"
    print()
    print(f"=== MooVitamix daily run: {status} in {seconds:.0f} s (run {run_id}) ===")
    figures: Figures = {}
    try:
        steps, breaches = step_table(run_id)
        print("\n".join(steps))
        print()
        for table, rows in table_rows().items():
            print(f"  {table:<32} {'-' if rows is None else rows:>8}")
        figures = run_figures(run_id)
    except psycopg.Error as error:
        steps, breaches = [], []
        print(f"  warehouse unreachable: {error}".rstrip())
    print(f"  {'dbt build':<32} {dbt_results(figures)}")
    print(f"  {'Soda contracts':<32} {soda_results(figures)}")
    print(f"  {'model':<32} {model_results(figures)}")
    print(f"Thresholds crossed: {len(breaches)}")
    for breach in breaches:
        print(breach)
    print("Where to look:")
    print(f"  warehouse   psql {warehouse_url()}  (ledger: ops.pipeline_runs, ops.pipeline_steps)")
    print(f"  run log     {log_path}  (JSON lines: {log_path.with_suffix('.jsonl')})")
    print("  MLflow      make mlflow-ui  (http://127.0.0.1:5000)")
    print("  dbt docs    make docs  (http://127.0.0.1:8080)")
    print(f"  health report {report if report else 'not written (see the errors above)'}")
