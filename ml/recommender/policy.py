"""The retraining policy and the promotion gate, as pure functions of a few numbers so
every branch is unit-tested without Spark or MLflow.

Decisions written to ml.training_runs.decision and the MLflow run:

- ``promoted``: trained on changed data, the new model passed the gate and is champion;
- ``forced_retrain_promoted``: retrain forced (champion too old, degraded on today's
  data, or operator's RETRAIN_FORCE); the new model passed the same gate and is champion;
- ``kept_champion``: trained, the gate refused the new model; the champion still serves;
- ``no_champion_popularity``: trained, refused, and there is no champion: the popularity
  lists are served (model_version ``popularity``);
- ``skipped``: interactions unchanged since the last training, or too few of them new
  since the champion's: no training, the champion scores every user again (new users
  included, through cold start);
- ``failed``: the run stopped on an error (nothing published).
"""

from __future__ import annotations

from dataclasses import dataclass

from .candidates import Candidate
from .settings import PolicySettings

PROMOTED = "promoted"
FORCED_PROMOTED = "forced_retrain_promoted"
KEPT_CHAMPION = "kept_champion"
NO_CHAMPION = "no_champion_popularity"
SKIPPED = "skipped"
FAILED = "failed"


@dataclass(frozen=True)
class Champion:
    """What the registry says about the model behind the ``champion`` alias."""

    version: str
    age_days: float
    # NDCG@10 logged when it was trained (on its own hold-out).
    ndcg_at_10: float | None
    # The interactions it learnt from: a registered model is a training that succeeded,
    # even when the publication after it failed.
    fingerprint: str | None = None
    # What it serves and with which settings (None: a version registered before these
    # were recorded).
    served: Candidate | None = None
    # The newest update of the interactions it learnt (its run's data_max_updated_at).
    data_max_updated_at: str | None = None


@dataclass(frozen=True)
class RetrainDecision:
    train: bool
    forced: bool
    reason: str


@dataclass(frozen=True)
class GateResult:
    promote: bool
    decision: str
    reason: str


def retrain_decision(
    champion: Champion | None,
    last_trained_fingerprint: str | None,
    fingerprint: str,
    policy: PolicySettings,
    changed_share: float | None = None,
) -> RetrainDecision:
    """Decided before any training, so a day without one costs only the scoring.
    ``changed_share``: the share of the interactions new since the champion's training
    (None: unknown, which retrains when the fingerprint changed)."""
    if champion is None:
        return RetrainDecision(True, False, "no champion yet")
    if policy.force_retrain:
        return RetrainDecision(True, True, "forced by the operator (RETRAIN_FORCE)")
    if champion.age_days > policy.max_model_age_days:
        return RetrainDecision(
            True,
            True,
            f"champion v{champion.version} is {champion.age_days:.1f} days old "
            f"(max {policy.max_model_age_days:g})",
        )
    if fingerprint == champion.fingerprint:
        # Training again on the data the champion learnt would judge the champion on a
        # hold-out it has seen (it was refitted on everything): skip, serve it.
        return RetrainDecision(
            False,
            False,
            f"interactions unchanged: champion v{champion.version} learnt them ({fingerprint})",
        )
    if fingerprint == last_trained_fingerprint:
        return RetrainDecision(
            False, False, f"interactions unchanged since the last training ({fingerprint})"
        )
    if changed_share is not None and changed_share < policy.retrain_min_changed_share:
        return RetrainDecision(
            False,
            False,
            f"{changed_share:.1%} of the interactions are new since champion "
            f"v{champion.version}'s training (< {policy.retrain_min_changed_share:.1%}, "
            "RETRAIN_MIN_CHANGED_SHARE): not retrained, the champion scores them",
        )
    return RetrainDecision(True, False, "interactions changed since the last training")


def champion_degradation(
    champion_ndcg: float, popularity_ndcg: float, policy: PolicySettings
) -> str | None:
    """Why the champion must be replaced whatever the gate's comparison says, or None.

    Measured against today's popularity baseline on the same hold-out rather than
    against a fixed NDCG: the hold-out's difficulty changes from day to day.
    """
    floor = policy.retrain_min_champion_lift * popularity_ndcg
    if champion_ndcg < floor:
        return (
            f"champion NDCG@10 on today's data {champion_ndcg:.4f} < "
            f"{policy.retrain_min_champion_lift:g} x popularity {popularity_ndcg:.4f}"
        )
    return None


def gate(
    challenger_ndcg: float,
    champion_ndcg: float | None,
    popularity_ndcg: float,
    forced: bool,
    policy: PolicySettings,
) -> GateResult:
    """Promote only a model clearly above popularity and at least as good as the champion
    on the same hold-out. A forced retrain is judged the same way: forcing buys a new
    candidate, never a worse model (a stale champion that still wins keeps serving)."""
    floor = policy.gate_min_popularity_lift * popularity_ndcg
    scores = (
        f"new {challenger_ndcg:.4f}, champion "
        f"{'none' if champion_ndcg is None else f'{champion_ndcg:.4f}'}, "
        f"popularity {popularity_ndcg:.4f}"
    )
    if challenger_ndcg < floor:
        decision = KEPT_CHAMPION if champion_ndcg is not None else NO_CHAMPION
        return GateResult(
            False,
            decision,
            f"NDCG@10 not clearly above popularity "
            f"(< {policy.gate_min_popularity_lift:g} x): {scores}",
        )
    if champion_ndcg is None:
        return GateResult(True, PROMOTED, f"first model, above popularity: {scores}")
    if challenger_ndcg >= champion_ndcg - policy.gate_ndcg_tolerance:
        return GateResult(
            True,
            FORCED_PROMOTED if forced else PROMOTED,
            f"NDCG@10 >= champion - {policy.gate_ndcg_tolerance:g}: {scores}",
        )
    return GateResult(
        False,
        KEPT_CHAMPION,
        f"NDCG@10 below champion - {policy.gate_ndcg_tolerance:g}: {scores}",
    )
