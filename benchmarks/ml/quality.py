"""Sets x splits x recommenders: what the retraining would publish on data it was not
designed on, against the baselines and a tuned `implicit` ALS, measured in one run.

For each data set and split the retraining's own code runs: the search on a validation
split carved from the training part (search.tune: ALS settings within the budget, then
the best ALS against plain and recent popularity), then the gate on the hold-out (no
champion: a refused challenger leaves the popularity lists published). `implicit`'s ALS
is tuned by the same search (same settings in the same order, same budget, same
validation split, the same confidence transform and decay applied to its weights), then
fitted on the training part and judged on the same hold-out. Every search is an MLflow
run with its child runs (the benchmark's own store under MOOVITAMIX_HOME).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import mlflow
from pyspark.sql import DataFrame

from recommender import candidates, policy
from recommender.candidates import ALS, RECENT_POPULARITY, Candidate
from recommender.interactions import Split, per_user_split, time_split
from recommender.search import Budget, hill_climb, search, tune, validation_hold_out
from recommender.settings import AlsParams, Settings
from recommender.train import HoldOut, ranking_metrics, training_frame

from .implicit_runs import run_implicit
from .targets import IMPLICIT, ORACLE, POPULARITY, PUBLISHED, SPARK, Case


def split_by(interactions: DataFrame, method: str, settings: Settings) -> Split | None:
    if method == "time":
        return time_split(interactions, settings.holdout_fraction)
    return per_user_split(interactions, settings.holdout_fraction, settings.holdout_seed)


def implicit_judge(python: Path, k: int) -> Callable[[HoldOut, AlsParams], dict[str, float]]:
    """The metrics of implicit's lists on a hold-out: its weights transformed as the
    platform's ALS would (confidence, decay), its lists judged by the platform's code."""

    def judge(hold_out: HoldOut, params: AlsParams) -> dict[str, float]:
        frame = training_frame(hold_out.split.train, params)
        train = frame.toPandas()
        frame.unpersist()
        users = [row.user_idx for row in hold_out.evaluated.select("user_idx").collect()]
        run = run_implicit(python, train, users, [params])[0]
        rows = [(user, rank, track) for user, tracks in run.lists.items() for rank, track in enumerate(tracks, start=1)]
        spark = hold_out.relevant.sparkSession
        lists = spark.createDataFrame(rows, "user_key int, rank int, track_idx int")
        return ranking_metrics(lists, hold_out.relevant, k, hold_out.catalogue_size)

    return judge


def tuned_implicit(split: Split, settings: Settings, python: Path) -> AlsParams:
    """implicit's best settings by the retraining's search, on its validation split."""
    judge = implicit_judge(python, settings.eval_k)
    metric = f"ndcg_at_{settings.eval_k}"
    budget = Budget(settings.search.max_fits, settings.search.max_minutes * 60, started=time.monotonic())
    with validation_hold_out(split, settings) as hold_out, mlflow.start_run(run_name="implicit search", nested=True):
        result = search(
            hill_climb(settings.als, settings.search),
            lambda params: judge(hold_out, params)[metric],
            budget,
            settings.search.costlier_min_gain,
        )
    return result.best.params


def judge_case(
    data_set: str,
    interactions: DataFrame,
    method: str,
    settings: Settings,
    python: Path,
    oracle: Callable[[HoldOut], float] | None = None,
) -> Case | None:
    """One data set under one split; None when the split is impossible (no times)."""
    started = time.perf_counter()
    split = split_by(interactions, method, settings)
    if split is None:
        return None
    k, pool = settings.eval_k, settings.candidate_pool
    metric = f"ndcg_at_{k}"
    with mlflow.start_run(run_name=f"{data_set} / {method}"):
        tuned = tune(split, settings)
        implicit_params = tuned_implicit(split, settings, python)
    hold_out = HoldOut.of(split, k, settings.eval_max_users)
    case = Case(data_set, method, hold_out.evaluated.count())
    spark_als = Candidate(ALS, tuned.candidate.als)
    ndcg = case.ndcg
    ndcg[SPARK] = hold_out.judge(spark_als, pool)[metric]
    ndcg[IMPLICIT] = implicit_judge(python, k)(hold_out, implicit_params)[metric]
    ndcg[POPULARITY] = hold_out.metrics(None, pool)[metric]
    for other in candidates.popularity_candidates(tuned.candidate.als, settings.search.half_lives_days):
        if other.kind == RECENT_POPULARITY:
            case.recent[other.label] = hold_out.judge(other, pool)[metric]
    # The hold-out's NDCG@10 of the candidate the validation chose, by its label.
    judged = {ALS: ndcg[SPARK], candidates.POPULARITY: ndcg[POPULARITY], **case.recent}
    chosen = judged[tuned.candidate.label]
    verdict = policy.gate(chosen, None, ndcg[POPULARITY], False, settings.policy)
    case.published = tuned.candidate.label if verdict.promote else POPULARITY
    ndcg[PUBLISHED] = chosen if verdict.promote else ndcg[POPULARITY]
    if oracle is not None:
        ndcg[ORACLE] = oracle(hold_out)
    hold_out.release()
    case.spark_settings = describe(tuned.candidate.als)
    case.implicit_settings = describe(implicit_params)
    case.seconds = time.perf_counter() - started
    return case


def describe(params: AlsParams) -> str:
    decay = f", half-life {params.half_life_days:g} d" if params.half_life_days else ""
    return (
        f"rank {params.rank}, reg {params.reg_param:g}, alpha {params.alpha:g}, "
        f"{params.max_iter} it., {params.confidence}{decay}"
    )


def print_table(cases: list[Case]) -> bool:
    """The table and the targets; True when every target is met."""
    columns = [PUBLISHED, SPARK, IMPLICIT, POPULARITY]
    recent = list(dict.fromkeys(name for case in cases for name in case.recent))
    columns += [*recent, ORACLE]
    print(f"\n{'set':<16}{'split':<10}{'users':>7}" + "".join(f"{c:>24}" for c in columns))
    for case in cases:
        figures = {**case.ndcg, **case.recent}
        cells = [f"{figures[c]:.4f}" if c in figures else "-" for c in columns]
        print(f"{case.data_set:<16}{case.split:<10}{case.users:>7}" + "".join(f"{c:>24}" for c in cells))
    print("\n(NDCG@10 on each hold-out; what was published, and the settings each search chose)")
    met = True
    for case in cases:
        print(
            f"{case.data_set} / {case.split} ({case.seconds:.0f} s): published {case.published}; "
            f"Spark: {case.spark_settings}; implicit: {case.implicit_settings}"
        )
        for what, value, minimum in case.checks():
            met = met and value >= minimum
            verdict = "met" if value >= minimum else "NOT MET"
            print(f"    {what:<32} {value:6.2f}  target >= {minimum:.2f}  {verdict}")
    return met
