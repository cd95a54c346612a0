"""Unit tests of the summary `make run` prints: the model's line and the step table read
the recommender's row of the run (ml.training_runs), never a copy in the ledger."""

from __future__ import annotations

from orchestrate.summary import model_results, step_lines

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
