"""ml.training_runs: one row per recommender run, whatever it decided.

The table is defined in orchestrate/migrations/ml.sql; the operations side
(orchestrate/training_runs.py) reads it. Every metric and parameter is also in the MLflow run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime

import psycopg
from psycopg import sql


@dataclass
class TrainingRun:
    run_id: str
    started_at: datetime
    decision: str = "failed"
    reason: str = ""
    mlflow_run_id: str | None = None
    finished_at: datetime | None = None
    # The version whose lists were published (the champion's, or "popularity").
    model_version: str | None = None
    # Metrics of the model trained in this run, on this run's hold-out (None if skipped).
    ndcg_at_10: float | None = None
    # The champion on the same hold-out (or, when skipped, as logged at its training).
    champion_ndcg_at_10: float | None = None
    popularity_ndcg_at_10: float | None = None
    coverage: float | None = None
    users_scored: int | None = None
    cold_start_users: int | None = None
    interactions_rows: int | None = None
    data_fingerprint: str | None = None
    # What was judged on this run's hold-out (None if skipped): "als", "recent_popularity"
    # or "popularity", chosen on the validation split or the champion's, reused.
    candidate: str | None = None

    def as_fields(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def write(conn: psycopg.Connection, record: TrainingRun) -> None:
    """Insert the row, or replace it when the orchestrator retries the same run id."""
    names = [f.name for f in fields(TrainingRun)]
    statement = sql.SQL(
        "insert into ml.training_runs ({cols}) values ({vals}) "
        "on conflict (run_id) do update set {updates}"
    ).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, names)),
        vals=sql.SQL(", ").join(sql.Placeholder(n) for n in names),
        updates=sql.SQL(", ").join(
            sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n)) for n in names[1:]
        ),
    )
    conn.execute(statement, asdict(record))
