"""Retrain decisions and the promotion gate, branch by branch."""

from __future__ import annotations

from recommender import policy
from recommender.policy import Champion, champion_degradation, gate, retrain_decision
from recommender.settings import PolicySettings

POLICY = PolicySettings(
    gate_ndcg_tolerance=0.01,
    gate_min_popularity_lift=1.2,
    retrain_min_champion_lift=1.2,
    max_model_age_days=7,
    retrain_min_changed_share=0.05,
)
FRESH = Champion(version="3", age_days=1.0, ndcg_at_10=0.2)


def test_first_run_trains() -> None:
    decision = retrain_decision(None, None, "abc", POLICY)
    assert decision.train and not decision.forced and decision.reason == "no champion yet"


def test_unchanged_interactions_skip_training() -> None:
    decision = retrain_decision(FRESH, "abc", "abc", POLICY)
    assert not decision.train and "unchanged" in decision.reason


def test_changed_interactions_retrain_normally() -> None:
    decision = retrain_decision(FRESH, "abc", "def", POLICY)
    assert decision.train and not decision.forced


def test_few_interactions_new_since_the_champions_training_skip_training() -> None:
    few = retrain_decision(FRESH, "abc", "def", POLICY, changed_share=0.027)
    assert not few.train and "2.7% of the interactions are new" in few.reason
    assert "(< 5.0%" in few.reason and "champion v3" in few.reason
    assert retrain_decision(FRESH, "abc", "def", POLICY, changed_share=0.05).train
    # An unknown share retrains, as any change did before the share was recorded.
    assert retrain_decision(FRESH, "abc", "def", POLICY, changed_share=None).train
    # Age and the operator still force a retrain whatever the share.
    old = Champion(version="3", age_days=9.5, ndcg_at_10=0.2)
    assert retrain_decision(old, "abc", "def", POLICY, changed_share=0.01).forced
    forced = PolicySettings(force_retrain=True)
    assert retrain_decision(FRESH, "abc", "def", forced, changed_share=0.01).forced


def test_the_champions_own_data_skips_training_even_when_its_run_failed_after_registering() -> None:
    # The publication after the registration failed: no finished run recorded "abc".
    registered = Champion(version="4", age_days=0.1, ndcg_at_10=0.3, fingerprint="abc")
    decision = retrain_decision(registered, "older", "abc", POLICY)
    assert not decision.train and "champion v4" in decision.reason
    assert retrain_decision(registered, "older", "def", POLICY).train


def test_old_champion_or_operator_force_a_retrain_even_on_unchanged_data() -> None:
    old = Champion(version="3", age_days=9.5, ndcg_at_10=0.2)
    decision = retrain_decision(old, "abc", "abc", POLICY)
    assert decision.train and decision.forced and "9.5 days old" in decision.reason
    forced = PolicySettings(force_retrain=True)
    decision = retrain_decision(FRESH, "abc", "abc", forced)
    assert decision.train and decision.forced and "operator" in decision.reason


def test_degraded_champion_is_detected_against_todays_popularity() -> None:
    assert champion_degradation(0.11, 0.1, POLICY) is not None  # < 1.2 x 0.1
    assert champion_degradation(0.13, 0.1, POLICY) is None


def test_gate_promotes_a_better_model_and_keeps_the_champion_over_a_worse_one() -> None:
    better = gate(0.25, 0.20, 0.05, forced=False, policy=POLICY)
    assert better.promote and better.decision == policy.PROMOTED
    within_tolerance = gate(0.195, 0.20, 0.05, forced=False, policy=POLICY)
    assert within_tolerance.promote
    worse = gate(0.15, 0.20, 0.05, forced=False, policy=POLICY)
    assert not worse.promote and worse.decision == policy.KEPT_CHAMPION
    assert "0.1500" in worse.reason and "0.2000" in worse.reason


def test_gate_requires_a_clear_lift_over_popularity() -> None:
    close_to_popularity = gate(0.11, None, 0.10, forced=False, policy=POLICY)
    assert not close_to_popularity.promote
    assert close_to_popularity.decision == policy.NO_CHAMPION
    first = gate(0.13, None, 0.10, forced=False, policy=POLICY)
    assert first.promote and first.decision == policy.PROMOTED
    # A forced retrain passes the same gate: promoted when at least the champion ...
    forced = gate(0.21, 0.20, 0.05, forced=True, policy=POLICY)
    assert forced.promote and forced.decision == policy.FORCED_PROMOTED
    # ... kept out when the (stale) champion still scores higher ...
    worse = gate(0.15, 0.20, 0.05, forced=True, policy=POLICY)
    assert not worse.promote and worse.decision == policy.KEPT_CHAMPION
    # ... and never with a model that does not beat popularity.
    assert not gate(0.055, 0.20, 0.05, forced=True, policy=POLICY).promote
