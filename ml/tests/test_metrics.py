"""Ranking metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from recommender.metrics import (
    average_precision_at_k,
    catalogue_coverage,
    mean_ranking_metrics,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)


def test_two_hits_out_of_four() -> None:
    recommended = [1, 2, 3, 4]
    relevant = {2, 4, 9}
    assert precision_at_k(recommended, relevant, 4) == pytest.approx(0.5)
    assert recall_at_k(recommended, relevant, 4) == pytest.approx(2 / 3)
    # DCG: hits at positions 2 and 4 -> 1/log2(3) + 1/log2(5) = 1.0616
    # IDCG: 3 relevant items in the first 3 slots -> 1 + 1/log2(3) + 1/2 = 2.1309
    assert ndcg_at_k(recommended, relevant, 4) == pytest.approx(1.0616063 / 2.1309298, rel=1e-6)


def test_only_first_k_count() -> None:
    recommended = [5, 1, 2]
    assert precision_at_k(recommended, {1}, 1) == 0.0
    assert recall_at_k(recommended, {1}, 1) == 0.0
    assert ndcg_at_k(recommended, {1}, 1) == 0.0
    assert precision_at_k(recommended, {1}, 2) == pytest.approx(0.5)
    assert recall_at_k(recommended, {1}, 2) == pytest.approx(1.0)
    assert ndcg_at_k(recommended, {1}, 2) == pytest.approx(1 / math.log2(3))


def test_perfect_and_short_lists() -> None:
    assert ndcg_at_k([7, 8], {7, 8}, 10) == pytest.approx(1.0)
    # precision@k divides by k even when the list is shorter than k
    assert precision_at_k([7, 8], {7, 8}, 10) == pytest.approx(0.2)
    assert recall_at_k([], {7}, 10) == 0.0


def test_more_relevant_items_than_k() -> None:
    # Both slots hit: as good as a list of 2 can be, so NDCG@2 is 1 even though a third
    # relevant item exists (the ideal list is capped at k); recall still shows the miss.
    assert ndcg_at_k([1, 2], {1, 2, 3}, 2) == pytest.approx(1.0)
    assert recall_at_k([1, 2], {1, 2, 3}, 2) == pytest.approx(2 / 3)
    assert precision_at_k([1, 2], {1, 2, 3}, 2) == pytest.approx(1.0)


def test_mean_counts_users_without_recommendations_as_misses() -> None:
    means = mean_ranking_metrics(
        recommended_by_user={1: [10, 11], 2: [20]},
        relevant_by_user={1: {10}, 2: {99}, 3: {30}},
        k=2,
    )
    assert means["precision_at_2"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert means["recall_at_2"] == pytest.approx((1 + 0 + 0) / 3)
    assert means["ndcg_at_2"] == pytest.approx((1 + 0 + 0) / 3)
    assert means["map_at_2"] == pytest.approx((1 + 0 + 0) / 3)


def test_average_precision_by_hand() -> None:
    # Hits at 2 and 4: (1/2 + 2/4) / min(3 relevant, k=4) = 1/3.
    assert average_precision_at_k([1, 2, 3, 4], {2, 4, 9}, 4) == pytest.approx(1 / 3)
    # A perfect list of k items scores 1 even with more relevant items than k.
    assert average_precision_at_k([1, 2], {1, 2, 3}, 2) == pytest.approx(1.0)
    # Hits past k do not count.
    assert average_precision_at_k([5, 1], {1}, 1) == 0.0


def test_catalogue_coverage_counts_distinct_items_in_top_k() -> None:
    lists = [[1, 2, 3], [1, 2, 4], [9, 9]]
    assert catalogue_coverage(lists, catalogue_size=10, k=2) == pytest.approx(3 / 10)
    with pytest.raises(ValueError):
        catalogue_coverage(lists, catalogue_size=0, k=2)


def test_invalid_k_and_no_relevant_items() -> None:
    with pytest.raises(ValueError):
        precision_at_k([1], {1}, 0)
    with pytest.raises(ValueError):
        mean_ranking_metrics({1: [1]}, {1: set()}, 10)
