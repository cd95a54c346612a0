"""Unit tests of the summary `make run` prints: the model's line and the step table read
the recommender's row of the run (ml.training_runs), never a copy in the ledger."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from orchestrate import summary
from orchestrate.summary import LOCAL_MLFLOW_UI, mlflow_ui, model_results, step_lines

MODEL = {
    "run_id": "run-1", "decision": "promoted", "reason": "first model, above popularity", "model_version": "3",
    "ndcg_at_10": 0.37181, "champion_ndcg_at_10": None, "popularity_ndcg_at_10": 0.0669, "coverage": 0.41,
    "users_scored": 1000, "cold_start_users": 0, "interactions_rows": 37204,
}
STEPS = [
    ("tap_moovitamix_target_postgres", "tap-moovitamix target-postgres", "success", 3.94),
    ("recommender_run", "recommender:run", "success", 66.12),
]
FIGURES = [
    ("tap_moovitamix_target_postgres", "users", "records_read", 1000.0),
    ("tap_moovitamix_target_postgres", "tracks", "records_read", 1000.0),
    ("tap_moovitamix_target_postgres", "tracks", "retries", None),  # not measured: not shown
]


def test_the_model_line_is_the_recommenders_row() -> None:
    assert model_results(MODEL) == (
        "promoted · first model, above popularity · champion version 3 · ndcg_at_10=0.3718 · "
        "popularity_ndcg_at_10=0.0669")
    served_popularity = {**MODEL, "decision": "kept_champion", "reason": "", "model_version": "popularity"}
    assert model_results(served_popularity).startswith("kept_champion · popularity (no champion) · ")
    assert model_results(None) == "not run"


def test_the_recommenders_step_shows_its_models_figures() -> None:
    header, tap, recommender = step_lines(STEPS, FIGURES, MODEL)
    assert header.split() == ["step", "status", "seconds", "figures"]
    assert tap.split(None, 3)[1:] == ["success", "3.9", "tracks records_read=1000, users records_read=1000"]
    assert recommender.split(None, 3)[1:] == [
        "success", "66.1", "model ndcg_at_10=0.3718, model popularity_ndcg_at_10=0.0669, model users_scored=1000"]


def test_without_the_recommenders_row_its_step_has_no_figures() -> None:
    *_, recommender = step_lines(STEPS, FIGURES, None)
    assert recommender.split() == ["recommender_run", "success", "66.1"]


@pytest.mark.parametrize(("tracking_uri", "shown"), [
    ("http://mlflow:5000", "http://mlflow:5000"),  # the container stack's runner
    ("https://user:token@mlflow.example.org/tracking", "https://mlflow.example.org/tracking"),
    (None, LOCAL_MLFLOW_UI),  # the recommender's default: the project's sqlite store
    ("", LOCAL_MLFLOW_UI),
    ("sqlite:////data/mlflow/mlflow.db", LOCAL_MLFLOW_UI),
    ("file:///tmp/mlruns", LOCAL_MLFLOW_UI),
])
def test_mlflow_is_the_tracking_server_the_run_used(tracking_uri: str | None, shown: str) -> None:
    environ = {} if tracking_uri is None else {"MLFLOW_TRACKING_URI": tracking_uri}
    assert mlflow_ui(environ) == shown


def test_where_to_look_names_the_remote_tracking_server(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name, value in {"USER": "owner", "HOST": "warehouse", "PORT": "5432", "DB": "moovitamix"}.items():
        monkeypatch.setenv(f"WAREHOUSE_{name}", value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")

    def unreachable() -> psycopg.Connection:
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(summary, "connect_warehouse", unreachable)
    summary.print_summary("run-1", job_succeeded=True, log_path=tmp_path / "daily.log", seconds=1, report=None)
    where = capsys.readouterr().out.split("Where to look:\n")[1]
    assert "  MLflow      http://mlflow:5000\n" in where
    assert "mlflow-ui" not in where
