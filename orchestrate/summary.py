"""The short summary `make run` prints at the end: one table of the run's steps, what
landed where, the thresholds crossed, and where to look.

It reads what the run already recorded rather than asking the steps again: the run
ledger (ops.pipeline_steps, ops.pipeline_health, and ops.pipeline_figures, where each
step's figures were read once from the tool's own results by orchestrate/figures.py), the
recommender's own row of the run (ml.training_runs) and the warehouse (rows per table).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from orchestrate import training_runs

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
# The step table's figures: the steps' own from the ledger, the recommender's from its row in
# ml.training_runs, shown on the step that runs its plugin (orchestrate/jobs.meltano.yml).
STEP_METRICS = ("records_read", "records_loaded", "retries", "http_429", "models_success", "tests_pass",
                "tests_fail", "contracts_passed", "contracts_failed")
MODEL_METRICS = ("ndcg_at_10", "popularity_ndcg_at_10", "users_scored")
RECOMMENDER_PLUGIN = "recommender"


def warehouse_url() -> str:
    """The warehouse of WAREHOUSE_* (the shell's, else the project's .env: load_dotenv)."""
    user, host, port, database = (os.environ[f"WAREHOUSE_{name}"] for name in ("USER", "HOST", "PORT", "DB"))
    return f"postgresql://{user}@{host}:{port}/{database}"


def connect_warehouse() -> psycopg.Connection:
    # A bounded wait: a port that accepts connections but never answers must not hang the run.
    return psycopg.connect(
        warehouse_url(), password=os.environ.get("WAREHOUSE_PASSWORD") or None, autocommit=True, connect_timeout=15
    )


# Where `make mlflow-ui` serves the local tracking store (the Makefile's MLFLOW_UI_PORT default).
LOCAL_MLFLOW_UI = "make mlflow-ui  (http://127.0.0.1:5000)"


def mlflow_ui(environ: Mapping[str, str] = os.environ) -> str:
    """Where to browse the run in MLflow: the tracking server the recommender logged to when
    MLFLOW_TRACKING_URI is an http(s) URL (the container stack's), else the local UI over
    the project's own store, which `make mlflow-ui` serves."""
    uri = urlsplit(environ.get("MLFLOW_TRACKING_URI", "").strip())
    if uri.scheme not in ("http", "https") or not uri.netloc:
        return LOCAL_MLFLOW_UI
    # Without any user:password the URL may carry: the summary ends up in logs.
    return urlunsplit((uri.scheme, uri.netloc.rpartition("@")[2], uri.path, "", ""))


def table_rows(connection: psycopg.Connection) -> dict[str, int | None]:
    """Rows per table and the monitored figures; None for what the run did not reach."""
    counts: dict[str, int | None] = {}
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


def run_figures(connection: psycopg.Connection, run_id: str) -> Figures:
    """{(subject, metric): (value, detail)} of the whole run, from the ledger: a figure that
    several steps record (dbt's models and tests, from each dbt step) is their total."""
    if connection.execute("select to_regclass('ops.pipeline_figures')").fetchone()[0] is None:
        return {}
    rows = connection.execute(
        "select subject, metric, sum(value), string_agg(detail, '; ' order by step)"
        " from ops.pipeline_figures where run_id = %s group by subject, metric",
        (run_id,),
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


def model_results(model: dict | None) -> str:
    """The recommender's decision (trained, promoted, kept, skipped), the version it serves and
    its scores, from its row of the run in ml.training_runs (None: it recorded no run)."""
    if model is None:
        return "not run"
    scores = " · ".join(f"{name}={model[name]:.4f}" for name in ("ndcg_at_10", "champion_ndcg_at_10",
                                                                  "popularity_ndcg_at_10")
                        if model.get(name) is not None)
    # A registered version is a number; "popularity" (or nothing) means no champion served.
    version = model.get("model_version")
    served = f"champion version {version}" if version and version.isdigit() else "popularity (no champion)"
    return f"{training_runs.verdict(model) or '?'} · {served} · {scores}"


def _number(value: float) -> str:
    """At most four decimals, no trailing zeros: 0.3718, 1000."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def step_lines(steps: list[tuple[str, str, str, float | None]], figures: list[tuple[str, str, str, float | None]],
               model: dict | None) -> list[str]:
    """The step table: each step (name, task, status, seconds) with its key figures (step,
    subject, metric, value), the recommender's step with its model's."""
    shown: dict[str, list[tuple[str, str, float]]] = {}
    for step, subject, metric, value in figures:
        if value is not None:
            shown.setdefault(step, []).append((subject, metric, value))
    lines = [f"  {'step':<32} {'status':<8} {'seconds':>8}  figures"]
    for step, task, status, seconds in steps:
        own = shown.get(step, [])
        if model and task.split()[0].split(":")[0] == RECOMMENDER_PLUGIN:
            own = own + [("model", metric, model[metric]) for metric in MODEL_METRICS if model.get(metric) is not None]
        text = ", ".join(f"{subject} {metric}={_number(value)}" for subject, metric, value in sorted(own))
        duration = "-" if seconds is None else f"{seconds:.1f}"
        lines.append(f"  {step:<32} {status:<8} {duration:>8}  {text}".rstrip())
    return lines


def step_table(connection: psycopg.Connection, run_id: str, model: dict | None) -> tuple[list[str], list[str]]:
    """The run's steps (status, seconds, key figures) and the thresholds it crossed, from the
    ledger; `model`: the recommender's row of the run."""
    if connection.execute("select to_regclass('ops.pipeline_steps')").fetchone()[0] is None:
        return [], []
    steps = connection.execute(
        "select step, task, status, duration_s from ops.pipeline_steps where run_id = %s order by step_index",
        (run_id,),
    ).fetchall()
    figures = connection.execute(
        "select step, subject, metric, value from ops.pipeline_figures where run_id = %s and metric = any(%s)",
        (run_id, list(STEP_METRICS)),
    ).fetchall()
    breaches = connection.execute(
        "select metric, subject, message from ops.pipeline_health where run_id = %s and breached"
        " order by metric, subject",
        (run_id,),
    ).fetchall()
    return step_lines(steps, figures, model), [f"  {metric} · {subject}: {message}"
                                               for metric, subject, message in breaches]


def print_summary(run_id: str, job_succeeded: bool, log_path: Path, seconds: float, report: Path | None) -> None:
    status = "SUCCESS" if job_succeeded else "FAILED"
    print()
    print(f"=== MooVitamix daily run: {status} in {seconds:.0f} s (run {run_id}) ===")
    figures: Figures = {}
    model: dict | None = None
    try:
        with connect_warehouse() as connection:
            model = training_runs.read_one(connection, run_id)
            steps, breaches = step_table(connection, run_id, model)
            print("\n".join(steps))
            print()
            for table, rows in table_rows(connection).items():
                print(f"  {table:<32} {'-' if rows is None else rows:>8}")
            figures = run_figures(connection, run_id)
    except psycopg.Error as error:
        steps, breaches = [], []
        print(f"  warehouse unreachable: {error}".rstrip())
    print(f"  {'dbt (every dbt step)':<32} {dbt_results(figures)}")
    print(f"  {'Soda contracts':<32} {soda_results(figures)}")
    print(f"  {'model':<32} {model_results(model)}")
    print(f"Thresholds crossed: {len(breaches)}")
    for breach in breaches:
        print(breach)
    print("Where to look:")
    print(f"  warehouse   psql {warehouse_url()}  (ledger: ops.pipeline_runs, ops.pipeline_steps)")
    print(f"  run log     {log_path}  (JSON lines: {log_path.with_suffix('.jsonl')})")
    print(f"  MLflow      {mlflow_ui()}")
    print("  dbt docs    make docs  (http://127.0.0.1:8080)")
    print(f"  health report {report if report else 'not written (see the errors above)'}")
