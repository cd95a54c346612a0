"""The search at retraining: it picks the better setting, stops at its budget (fits or
an injected clock), logs each setting as a nested MLflow run, reuses the champion's
settings when little changed; recent popularity goes through the gate and is published
when it beats ALS on data driven by what is recent."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from pyspark.sql import SparkSession

from recommender import policy
from recommender.candidates import ALS, RECENT_POPULARITY, Candidate
from recommender.interactions import per_user_split, split_for_evaluation
from recommender.pipeline import Serving
from recommender.recommend import build_lists
from recommender.search import (
    VALIDATION_METRIC,
    Budget,
    Proposer,
    Trial,
    changed_share,
    hill_climb,
    leader,
    neighbours,
    reused,
    search,
    tune,
)
from recommender.settings import AlsParams, PolicySettings, SearchSettings, Settings
from recommender.train import HoldOut, evaluate

from .synthetic import as_spark

FAST_ALS = AlsParams(rank=8, max_iter=5)
DAY0 = datetime(2026, 11, 1, 6)


@pytest.fixture()
def parent_run(tmp_path: Path) -> Iterator[str]:
    """An active MLflow run (the daily run's) in a store of its own."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    experiment_id = MlflowClient().create_experiment(
        "search", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    with mlflow.start_run() as run:
        yield run.info.run_id


def _children(parent_run_id: str) -> list[mlflow.entities.Run]:
    experiment_id = MlflowClient().get_run(parent_run_id).info.experiment_id
    return MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        order_by=["attributes.start_time ASC"],
    )


def _in_order(options: list[AlsParams]) -> Proposer:
    """The settings of ``options`` one after the other, whatever the trials say."""
    return lambda trials: options[len(trials)] if len(trials) < len(options) else None


def _settings(n: int) -> Proposer:
    return _in_order([replace(FAST_ALS, rank=rank) for rank in range(1, n + 1)])


def test_the_search_picks_the_better_of_two_settings_and_logs_each(
    spark: SparkSession, planted: pd.DataFrame, parent_run: str
) -> None:
    hold_out = HoldOut.of(per_user_split(as_spark(spark, planted), 0.2, 42), k=10)
    # regParam 1000 shrinks every factor to nothing: its lists are popularity's.
    collapsed, good = replace(FAST_ALS, reg_param=1000.0), FAST_ALS
    result = search(
        _in_order([collapsed, good]),
        lambda params: hold_out.judge(Candidate(ALS, params), 0)["ndcg_at_10"],
        Budget(max_fits=2, max_seconds=3600),
    )
    assert result.best.params == good
    assert [trial.params for trial in result.trials] == [collapsed, good]
    assert result.trials[1].ndcg_at_10 > result.trials[0].ndcg_at_10
    children = _children(parent_run)
    assert [c.data.params["als_reg_param"] for c in children] == ["1000.0", "3.0"]
    assert [c.data.metrics[VALIDATION_METRIC] for c in children] == [
        t.ndcg_at_10 for t in result.trials
    ]
    assert all(c.data.params["candidate"] == "als" for c in children)


def test_the_search_stops_at_its_budget_of_fits(parent_run: str) -> None:
    judged: list[AlsParams] = []

    def judge(params: AlsParams) -> float:
        judged.append(params)
        return float(params.rank)

    result = search(_settings(5), judge, Budget(max_fits=3, max_seconds=3600))
    assert len(judged) == 3 and result.stopped == "fits"
    assert result.best.params.rank == 3
    assert len(_children(parent_run)) == 3
    everything = search(_settings(2), judge, Budget(max_fits=3, max_seconds=3600))
    assert len(everything.trials) == 2 and everything.stopped == "exhausted"


def test_the_search_stops_when_its_minutes_are_spent(parent_run: str) -> None:
    # Every reading of the clock is a minute later: the third setting would start after
    # the 2.5 minutes of the budget (started 0, trial 1 at 1-2, trial 2 at 3...).
    minutes = iter(range(100))
    clock = lambda: 60.0 * next(minutes)  # noqa: E731
    result = search(_settings(5), lambda p: 0.1, Budget(max_fits=10, max_seconds=150, clock=clock))
    assert result.stopped == "minutes" and len(result.trials) == 1
    # Even a spent budget judges one setting: a retraining always has a challenger.
    late = search(_settings(5), lambda p: 0.1, Budget(max_fits=10, max_seconds=0, clock=clock))
    assert len(late.trials) == 1
    # Minutes that started counting before the search (the carving of its validation
    # split) are spent too; the same budget counted from the search's start is not.
    still = lambda: 1000.0  # noqa: E731
    carved = search(_settings(5), lambda p: 0.1, Budget(10, 150, clock=still, started=0.0))
    assert carved.stopped == "minutes" and len(carved.trials) == 1
    fresh = search(_settings(5), lambda p: 0.1, Budget(10, 150, clock=still))
    assert fresh.stopped == "exhausted" and len(fresh.trials) == 5


GRID = SearchSettings(
    ranks=(8, 16, 32),
    reg_params=(1.0, 3.0),
    alphas=(10.0,),
    max_iters=(5, 10),
    half_lives_days=(0.0,),
)


def test_the_neighbours_move_one_setting_one_step_larger_first() -> None:
    assert neighbours(FAST_ALS, GRID) == [
        replace(FAST_ALS, max_iter=10),
        replace(FAST_ALS, reg_param=1.0),
        replace(FAST_ALS, rank=16),
        replace(FAST_ALS, confidence="log1p"),
    ]
    # A value off the grid may go to any of the grid's values.
    assert [p.rank for p in neighbours(replace(FAST_ALS, rank=12), GRID)[2:5]] == [8, 16, 32]


def test_the_hill_climb_starts_from_the_base_and_climbs_to_a_local_best(parent_run: str) -> None:
    # Best at rank 32, 10 iterations, regParam 1: two steps up in rank, one in iterations.
    def judge(params: AlsParams) -> float:
        return -abs(params.rank - 32) - abs(params.max_iter - 10) - params.reg_param

    result = search(hill_climb(FAST_ALS, GRID), judge, Budget(max_fits=100, max_seconds=3600))
    assert result.trials[0].params == FAST_ALS
    assert result.best.params == replace(FAST_ALS, rank=32, max_iter=10, reg_param=1.0)
    assert result.stopped == "exhausted"
    assert len({trial.params for trial in result.trials}) == len(result.trials)
    # Each improvement is followed from where it was found: the next trials are its
    # neighbours, not the base's.
    assert result.trials[1].params == replace(FAST_ALS, max_iter=10)
    assert result.trials[2].params.max_iter == 10
    again = search(hill_climb(FAST_ALS, GRID), judge, Budget(max_fits=100, max_seconds=3600))
    assert [t.params for t in again.trials] == [t.params for t in result.trials]
    short = search(hill_climb(FAST_ALS, GRID), judge, Budget(max_fits=3, max_seconds=3600))
    assert short.stopped == "fits" and len(short.trials) == 3


def test_a_costlier_setting_leads_only_when_it_gains_enough(parent_run: str) -> None:
    base = FAST_ALS
    longer, less_regularised = replace(base, max_iter=10), replace(base, reg_param=1.0)
    trials = [Trial(base, 0.100), Trial(longer, 0.105), Trial(less_regularised, 0.102)]
    # Twice the iterations for +5 %: not enough at 10 %, enough at 0 %; a setting that
    # costs the same leads with any gain.
    assert leader(trials, 0.1).params == less_regularised
    assert leader(trials, 0.0).params == longer
    assert leader([Trial(longer, 0.105), Trial(base, 0.104)], 0.1).params == longer
    assert leader([Trial(longer, 0.105), Trial(base, 0.106)], 0.1).params == base
    assert leader([Trial(base, 0.100), Trial(longer, 0.111)], 0.1).params == longer

    scores = {base: 0.100, longer: 0.105, less_regularised: 0.102}

    def judge(params: AlsParams) -> float:
        return scores.get(params, 0.0)

    grid = replace(GRID, ranks=(8,), confidences=("raw",))
    frugal = search(
        hill_climb(base, replace(grid, costlier_min_gain=0.1)),
        judge,
        Budget(max_fits=100, max_seconds=3600),
        costlier_min_gain=0.1,
    )
    assert frugal.best.params == less_regularised, frugal
    # Without the rule the climb follows the costlier setting.
    greedy = search(
        hill_climb(base, replace(grid, costlier_min_gain=0.0)),
        judge,
        Budget(max_fits=100, max_seconds=3600),
    )
    assert greedy.best.params == longer, greedy


def test_the_champion_settings_are_reused_when_little_changed(
    spark: SparkSession, planted: pd.DataFrame
) -> None:
    served = Candidate(ALS, FAST_ALS)
    learnt_until = DAY0.isoformat()
    champion = policy.Champion("3", 1.0, 0.2, "abc", served, learnt_until)
    rows = planted.assign(seen_at=DAY0)
    rows.loc[rows.index[:10], "seen_at"] = DAY0 + timedelta(days=1)
    share = changed_share(as_spark(spark, rows), len(rows), DAY0)
    assert share == pytest.approx(10 / len(rows))
    search_settings = SearchSettings(min_changed_share=0.05)
    assert share is not None and share < 0.05
    assert "its settings are reused" in (reused(champion, share, search_settings) or "")
    assert reused(champion, 0.5, search_settings) is None
    # A champion whose settings were never recorded, or an unknown share: search.
    assert reused(replace(champion, served=None), share, search_settings) is None
    assert changed_share(as_spark(spark, rows), len(rows), None) is None


def _recent_hits() -> pd.DataFrame:
    """Day 0: each of 80 users hears 5 of 10 old tracks (about 40 listeners each).
    Days 1, 2, 3: 15 new users a day hear the same 5 new hits (tracks 10-14). Counted
    plainly the old tracks lead (40 listeners against 30); what comes next is the hits."""
    rng = random.Random(3)
    rows = [(u, t, DAY0) for u in range(80) for t in rng.sample(range(10), 5)]
    for day in (1, 2, 3):
        users = range(15 * (day - 1), 15 * day)
        rows += [(u, t, DAY0 + timedelta(days=day)) for u in users for t in range(10, 15)]
    return pd.DataFrame(
        {
            "user_id": [1000 + u for u, _, _ in rows],
            "track_id": [5000 + t for _, t, _ in rows],
            "weight": 1.0,
            "seen_at": [seen for _, _, seen in rows],
            "user_idx": [u for u, _, _ in rows],
            "track_idx": [t for _, t, _ in rows],
        }
    )


def test_the_gate_publishes_recent_popularity_when_it_beats_als(
    spark: SparkSession, parent_run: str
) -> None:
    settings = Settings(
        als=FAST_ALS,
        search=SearchSettings(max_fits=1, half_lives_days=(0.25,)),
        holdout_fraction=0.1,
        candidate_pool=0,
        eval_max_users=0,
    )
    interactions = as_spark(spark, _recent_hits())
    split = split_for_evaluation(interactions, settings.holdout_fraction, settings.holdout_seed)
    assert split.method == "time"
    tuned = tune(split, settings)
    assert tuned.candidate == Candidate(RECENT_POPULARITY, FAST_ALS, 0.25), tuned
    assert tuned.fits == 1 and "chosen on the time validation split" in tuned.reason
    # One ALS setting, plain popularity, recent popularity: three nested runs.
    assert [c.data.params["candidate"] for c in _children(parent_run)] == [
        "als",
        "popularity",
        "recent_popularity",
    ]

    chosen = evaluate(split, tuned.candidate, 10, 0)
    als = evaluate(split, Candidate(ALS, FAST_ALS), 10, 0)
    assert chosen.model["ndcg_at_10"] > als.model["ndcg_at_10"], (chosen, als)
    verdict = policy.gate(
        chosen.model["ndcg_at_10"], None, chosen.popularity["ndcg_at_10"], False, PolicySettings()
    )
    assert verdict.promote and verdict.decision == policy.PROMOTED, verdict

    serving = Serving.of(tuned.candidate, None, "1")
    assert serving.model is None and serving.popularity_half_life_days == 0.25
    users = spark.createDataFrame(
        [(1000 + u, None) for u in range(80)], "user_id long, favorite_genre string"
    )
    tracks = spark.createDataFrame([(5000 + t, t) for t in range(15)], "id long, idx int")
    genres = spark.createDataFrame(
        [(5000 + t, "pop") for t in range(15)], "track_id long, genre string"
    )
    lists = build_lists(
        interactions, users, genres, tracks, serving.model, 10, 0, serving.popularity_half_life_days
    )
    # A user who heard only old tracks is offered the hits first.
    top = [r["track_id"] for r in lists.where("user_id = 1079").orderBy("rank").collect()]
    assert sorted(top[:5]) == [5010, 5011, 5012, 5013, 5014]


def test_carving_the_validation_split_counts_in_the_search_minutes(
    spark: SparkSession, parent_run: str
) -> None:
    settings = Settings(
        als=FAST_ALS,
        search=SearchSettings(max_fits=5, max_minutes=1, half_lives_days=(0.25,)),
        holdout_fraction=0.1,
        candidate_pool=0,
        eval_max_users=0,
    )
    split = split_for_evaluation(as_spark(spark, _recent_hits()), 0.1, 42)
    # The clock reads 0 when the search begins, then ten minutes later for ever: the
    # carving took the budget's minutes, so one setting only is tried.
    readings = iter([0.0])
    tuned = tune(split, settings, clock=lambda: next(readings, 600.0))
    assert tuned.fits == 1 and "stopped: minutes" in tuned.reason, tuned
