"""Unit tests of the health report's page, from rows as the report reads them (no warehouse,
no browser): the model's charts and the last run's record come from ml.training_runs."""

from __future__ import annotations

import datetime as dt
import json
import re

from orchestrate.report.page import render

START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
RUN_IDS = ["run-0", "run-1", "run-2"]


def data(models: dict[str, dict], figures: list[dict] | None = None) -> dict:
    """Three runs; the recommender recorded `models` (by run id)."""
    runs = [{"run_id": run_id, "job": "daily", "environment": "dev", "started_at": START + dt.timedelta(days=day),
             "finished_at": None, "duration_s": 100.0, "status": "success", "failed_step": None, "error": None}
            for day, run_id in enumerate(RUN_IDS)]
    return {"generated_at": "2026-11-04T06:00:00+00:00", "runs": runs, "steps": [], "figures": figures or [],
            "health": [], "models": models, "profile": {}}


def model(run_id: str, ndcg: float, coverage: float) -> dict:
    return {"run_id": run_id, "mlflow_run_id": f"mlflow-{run_id}", "decision": "promoted", "reason": "above popularity",
            "model_version": "2", "ndcg_at_10": ndcg, "champion_ndcg_at_10": None, "popularity_ndcg_at_10": 0.05,
            "coverage": coverage, "users_scored": 1000, "cold_start_users": 3, "interactions_rows": 37204}


def charts(page: str) -> dict[str, dict]:
    embedded = re.search(r'<script type="application/json" id="charts">(.*?)</script>', page, re.S)
    return json.loads(embedded[1].replace("<\\/", "</"))["figures"] if embedded else {}


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t["name"] == name)


def test_the_model_charts_read_the_recommenders_rows() -> None:
    page = render(data({"run-0": model("run-0", 0.19, 0.40), "run-2": model("run-2", 0.21, 0.45)}))
    drawn = charts(page)
    ndcg = trace(drawn["chart-model"], "model NDCG@10")
    assert ndcg["y"] == [0.19, None, 0.21]  # run-1 recorded no training: a gap
    assert ndcg["customdata"] == ["promoted · above popularity", "", "promoted · above popularity"]
    assert trace(drawn["chart-model"], "popularity baseline NDCG@10")["y"] == [0.05, None, 0.05]
    assert trace(drawn["chart-users"], "catalogue coverage")["y"] == [0.40, None, 0.45]
    # The last run's own record, under its figures.
    last_run = page[page.index('id="last-run"'):].replace("<wbr>", "")
    assert "recommender (ml.training_runs)" in last_run and "mlflow-run-2" in last_run


def test_model_figures_left_in_the_ledger_are_not_the_models() -> None:
    """Figures of subject "model" that an older supervisor copied into the ledger draw nothing."""
    copied = [{"run_id": run_id, "step": "recommender_run", "subject": "model", "metric": metric, "value": 0.3,
               "detail": None} for run_id in RUN_IDS for metric in ("ndcg_at_10", "coverage")]
    page = render(data({}, copied))
    assert "chart-model" not in charts(page) and "chart-users" not in charts(page)
    assert "recommender (ml.training_runs)" not in page.replace("<wbr>", "")
