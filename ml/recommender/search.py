"""The search at retraining: which ALS settings, and which candidate, go to the gate.

The settings the recommender was tuned with were chosen on one data set; on another
(or on the same one months later) others may do better, and a model that ignores time
may lose to a list of what is popular now. So a retraining tries a few ALS settings
(rank, regParam, alpha, iterations, confidence transform, decay half-life) on a
validation split carved from the hold-out's training part, by the same method, within
a budget of fits and minutes: a hill climb from the ALS_* settings (or the champion's),
one setting moved at a time, which finds better settings in a handful of fits where a
random draw from the grid mostly does not. A setting that makes every later fit costlier
(a larger rank or more iterations) must pay for it: it leads only when it beats the
leader by a set share, since the daily job fits the winner twice on all the data. The
leader is then compared, on the same validation split, with plain and recent popularity.
The chosen candidate alone is judged on the hold-out by the gate (policy.py), which stays
unseen until then.

When few interactions changed since the champion was trained, the champion's settings
are reused and nothing is searched: a search would cost its fits to find, most likely,
the same settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from . import tracking
from .candidates import ALS, Candidate, best, popularity_candidates
from .events import emit
from .interactions import Split, user_sample, validation_split
from .policy import Champion
from .settings import AlsParams, SearchSettings, Settings
from .train import HoldOut, NothingToHoldOut

VALIDATION_METRIC = "validation_ndcg_at_10"


@dataclass(frozen=True)
class Budget:
    max_fits: int
    max_seconds: float
    # Injected by the tests: no test waits for a real minute to pass.
    clock: Callable[[], float] = time.monotonic
    # When the minutes started counting (a reading of ``clock``; None: when the search
    # starts): carving the validation split is part of the search's cost.
    started: float | None = None


@dataclass(frozen=True)
class Trial:
    params: AlsParams
    ndcg_at_10: float


@dataclass(frozen=True)
class SearchResult:
    best: Trial
    trials: list[Trial]
    # Why it stopped: "fits" or "minutes" (the budget), "exhausted" (nothing left to try).
    stopped: str


@dataclass(frozen=True)
class Tuned:
    """The challenger of a retraining and how it was chosen."""

    candidate: Candidate
    # Its NDCG@10 on the validation split (None when it was not judged there).
    validation_ndcg_at_10: float | None
    fits: int
    reason: str


# What to try next, given the trials so far (None: nothing left).
Proposer = Callable[[list[Trial]], AlsParams | None]


def fit_cost(params: AlsParams) -> int:
    """What one fit costs, relatively: each iteration solves every user's and track's
    factors, a solve growing with the rank (at 1,000,000 records, rank 32 x 10
    iterations fitted in 2.8 x the time of rank 16 x 5)."""
    return params.rank * params.max_iter


def leader(trials: list[Trial], costlier_min_gain: float) -> Trial:
    """The best trial, met in order: a later trial takes the lead when its NDCG@10 is
    higher, by at least ``costlier_min_gain`` of the leader's when it costs more to fit;
    on a tie the earlier one stays."""
    lead = trials[0]
    for trial in trials[1:]:
        costlier = fit_cost(trial.params) > fit_cost(lead.params)
        needed = costlier_min_gain * abs(lead.ndcg_at_10) if costlier else 0.0
        if trial.ndcg_at_10 > lead.ndcg_at_10 + needed:
            lead = trial
    return lead


def grid_values(search: SearchSettings) -> dict[str, tuple[Any, ...]]:
    """The values each setting may take, in the order the climb moves the settings:
    those that moved NDCG@10 the most first (iterations and regParam on MovieLens, the
    planted set and the stand-in's data, `make bench-ml`), so a small budget spends its
    fits where they pay."""
    return {
        "max_iter": search.max_iters,
        "reg_param": search.reg_params,
        "rank": search.ranks,
        "alpha": search.alphas,
        "confidence": search.confidences,
        "half_life_days": search.half_lives_days,
    }


def neighbours(params: AlsParams, search: SearchSettings) -> list[AlsParams]:
    """The settings one step away from ``params``: one setting at a time (in
    ``grid_values`` order) moved to the grid values next to its own, the larger first;
    to every grid value when its own is not on the grid."""
    steps: list[AlsParams] = []
    for name, values in grid_values(search).items():
        ordered = sorted(set(values))
        current = getattr(params, name)
        if current in ordered:
            at = ordered.index(current)
            moves = [ordered[i] for i in (at + 1, at - 1) if 0 <= i < len(ordered)]
        else:
            moves = ordered
        steps += [replace(params, **{name: value}) for value in moves]
    return steps


def hill_climb(base: AlsParams, search: SearchSettings) -> Proposer:
    """``base`` first, then the first untried neighbour of the leader so far: each
    new leader moves the search to it, and the search ends ("exhausted") at a setting
    none of whose neighbours takes the lead. Deterministic: the same trials give the
    same next setting, so the same data tries the same settings every day."""

    def propose(trials: list[Trial]) -> AlsParams | None:
        if not trials:
            return base
        lead = leader(trials, search.costlier_min_gain)
        tried = {trial.params for trial in trials}
        return next((p for p in neighbours(lead.params, search) if p not in tried), None)

    return propose


def search(
    propose: Proposer,
    judge: Callable[[AlsParams], float],
    budget: Budget,
    costlier_min_gain: float = 0.0,
) -> SearchResult:
    """Judge the settings ``propose`` gives until the budget is spent (at least one is
    judged) or it has nothing left; the ``leader`` wins. Each is an MLflow run nested
    in the active one, with its settings and its validation NDCG@10."""
    started = budget.clock() if budget.started is None else budget.started
    trials: list[Trial] = []
    stopped = "exhausted"
    while True:
        if len(trials) >= budget.max_fits:
            stopped = "fits"
            break
        if trials and budget.clock() - started >= budget.max_seconds:
            stopped = "minutes"
            break
        params = propose(trials)
        if params is None:
            break
        trial_started = budget.clock()
        trial = Trial(params, judge(params))
        trials.append(trial)
        tracking.log_child_run(
            f"search-{len(trials)}",
            Candidate(ALS, params).as_mlflow_params(),
            {VALIDATION_METRIC: trial.ndcg_at_10},
        )
        emit(
            "search_trial",
            trial=len(trials),
            seconds=round(budget.clock() - trial_started, 1),
            ndcg_at_10=trial.ndcg_at_10,
            **params.as_mlflow_params(),
        )
    if not trials:
        raise ValueError("nothing to try: the search needs at least one setting and one fit")
    return SearchResult(best=leader(trials, costlier_min_gain), trials=trials, stopped=stopped)


def changed_share(
    interactions: DataFrame, rows: int, learnt_until: datetime | None
) -> float | None:
    """The share of ``interactions`` first seen after ``learnt_until``, the newest update
    the champion learnt (None when that is unknown). More listens of a pair it knew do not
    count: the warehouse keeps a pair's first load time only."""
    if learnt_until is None or rows == 0:
        return None
    return interactions.where(F.col("seen_at") > F.lit(learnt_until)).count() / rows


def reused(champion: Champion | None, share: float | None, search: SearchSettings) -> str | None:
    """Why the champion's settings are reused without a search, or None."""
    if champion is None or champion.served is None or share is None:
        return None
    if share < search.min_changed_share:
        return (
            f"{share:.1%} of the interactions are new since champion v{champion.version} "
            f"(< {search.min_changed_share:.1%}): its settings are reused, no search"
        )
    return None


@contextmanager
def validation_hold_out(split: Split, settings: Settings) -> Iterator[HoldOut]:
    """The hold-out of a validation split carved, by ``split``'s method, from a sample
    of ``split.train``'s users. The sample is cached: the carving and every trial read
    it several times, and without the cache each read would scan the whole training
    part again (about 200 s a search at 1,000,000 records). Raises NothingToHoldOut."""
    sample = user_sample(split.train, settings.search.max_users).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    try:
        validation = validation_split(
            sample, split.method, settings.holdout_fraction, settings.holdout_seed
        )
        hold_out = HoldOut.of(validation, settings.eval_k, settings.eval_max_users)
        try:
            yield hold_out
        finally:
            hold_out.release()
    finally:
        sample.unpersist()


def tune(split: Split, settings: Settings, clock: Callable[[], float] = time.monotonic) -> Tuned:
    """The search's best ALS settings against plain and recent popularity, all judged on
    a validation split carved from ``split.train``. Without a budget, or without
    anything to validate on, the ALS_* settings go to the gate unsearched."""
    base = Candidate(ALS, settings.als)
    if settings.search.max_fits == 0:
        return Tuned(base, None, 0, "no search (SEARCH_MAX_FITS=0)")
    started = clock()
    budget = Budget(settings.search.max_fits, settings.search.max_minutes * 60, clock, started)
    try:
        with validation_hold_out(split, settings) as hold_out:
            emit(
                "validation_split_ready",
                split=hold_out.split.method,
                test_rows=hold_out.test_rows,
                seconds=round(clock() - started, 1),
            )
            return _tune_on(hold_out, settings, budget)
    except NothingToHoldOut as exc:
        return Tuned(base, None, 0, f"no search: the validation split is empty ({exc})")


def _tune_on(hold_out: HoldOut, settings: Settings, budget: Budget) -> Tuned:
    metric = f"ndcg_at_{settings.eval_k}"
    result = search(
        hill_climb(settings.als, settings.search),
        lambda params: hold_out.judge(Candidate(ALS, params), settings.candidate_pool)[metric],
        budget,
        settings.search.costlier_min_gain,
    )
    scores = [(Candidate(ALS, result.best.params), result.best.ndcg_at_10)]
    for candidate in popularity_candidates(result.best.params, settings.search.half_lives_days):
        ndcg = hold_out.judge(candidate, settings.candidate_pool)[metric]
        scores.append((candidate, ndcg))
        tracking.log_child_run(
            candidate.label, candidate.as_mlflow_params(), {VALIDATION_METRIC: ndcg}
        )
        emit("candidate_validated", candidate=candidate.label, ndcg_at_10=ndcg)
    chosen, ndcg = best(scores)
    return Tuned(
        chosen,
        ndcg,
        len(result.trials),
        f"{chosen.label} chosen on the {hold_out.split.method} validation split "
        f"(NDCG@10 {ndcg:.4f}; {len(result.trials)} ALS settings tried, "
        f"stopped: {result.stopped})",
    )
