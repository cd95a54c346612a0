"""The recommender's row of each run in ml.training_runs, as the supervisor reads it.

The recommender owns these facts (ml/recommender/training_runs.py writes them, MLflow holds
every other metric of a training): the health checks, the summary and the report read them
here, by the supervisor's run id, rather than from a copy in the run ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

# What SQL readers need of a run (orchestrate/migrations/ml.sql); named, not `*`, so a
# column the recommender adds or drops later changes nothing here.
COLUMNS = (
    "run_id", "mlflow_run_id", "decision", "reason", "model_version", "ndcg_at_10", "champion_ndcg_at_10",
    "popularity_ndcg_at_10", "coverage", "users_scored", "cold_start_users", "interactions_rows",
)


def read(connection: psycopg.Connection, run_ids: Sequence[str]) -> dict[str, dict]:
    """{run_id: row} of these runs; a run the recommender did not record has no entry, and
    a warehouse without ml.training_runs (no migration applied yet) gives {}."""
    if connection.execute("select to_regclass('ml.training_runs')").fetchone()[0] is None:
        return {}
    rows = connection.execute(
        f"select {', '.join(COLUMNS)} from ml.training_runs where run_id = any(%s)", (list(run_ids),)
    ).fetchall()
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows}


def read_one(connection: psycopg.Connection, run_id: str) -> dict | None:
    return read(connection, [run_id]).get(run_id)


def verdict(row: dict) -> str | None:
    """The decision and its reason, as one line ("promoted · above the champion")."""
    return " · ".join(str(row[column]) for column in ("decision", "reason") if row.get(column)) or None
