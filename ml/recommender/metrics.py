"""Ranking metrics at K, as plain functions so they can be checked by hand.

Conventions (the usual ones for top-K recommendation):
- precision@K divides by K even when fewer than K items were recommended, so a model
  that cannot fill its list is penalised;
- recall@K divides by the number of relevant items;
- NDCG@K uses binary relevance, gain 1/log2(rank + 1), ideal = all relevant items first;
- AP@K (averaged into MAP@K) sums precision@i at each hit i <= K and divides by
  min(|relevant|, K), so a perfect list scores 1 even when more than K items are relevant;
- catalogue coverage is the share of the catalogue that appears in at least one list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence, Set


def hits_at_k(recommended: Sequence[int], relevant: Set[int], k: int) -> int:
    return sum(1 for item in recommended[:k] if item in relevant)


def precision_at_k(recommended: Sequence[int], relevant: Set[int], k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    return hits_at_k(recommended, relevant, k) / k


def recall_at_k(recommended: Sequence[int], relevant: Set[int], k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    if not relevant:
        return 0.0
    return hits_at_k(recommended, relevant, k) / len(relevant)


def ndcg_at_k(recommended: Sequence[int], relevant: Set[int], k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    if not relevant:
        return 0.0
    dcg = sum(
        1.0 / math.log2(position + 2)
        for position, item in enumerate(recommended[:k])
        if item in relevant
    )
    ideal = sum(1.0 / math.log2(position + 2) for position in range(min(len(relevant), k)))
    return dcg / ideal


def average_precision_at_k(recommended: Sequence[int], relevant: Set[int], k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for position, item in enumerate(recommended[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / position
    return total / min(len(relevant), k)


def catalogue_coverage(lists: Iterable[Sequence[int]], catalogue_size: int, k: int) -> float:
    if catalogue_size <= 0:
        raise ValueError("the catalogue is empty")
    shown = {item for items in lists for item in items[:k]}
    return len(shown) / catalogue_size


def mean_ranking_metrics(
    recommended_by_user: Mapping[int, Sequence[int]],
    relevant_by_user: Mapping[int, Set[int]],
    k: int,
) -> dict[str, float]:
    """Average over every user that has held-out items; a user with no
    recommendations counts as all misses rather than being skipped (skipping would
    flatter a model that drops users)."""
    users = [user for user, relevant in relevant_by_user.items() if relevant]
    if not users:
        raise ValueError("no user has relevant items to evaluate against")
    functions = {
        f"precision_at_{k}": precision_at_k,
        f"recall_at_{k}": recall_at_k,
        f"map_at_{k}": average_precision_at_k,
        f"ndcg_at_{k}": ndcg_at_k,
    }
    totals = dict.fromkeys(functions, 0.0)
    for user in users:
        recommended = recommended_by_user.get(user, [])
        relevant = relevant_by_user[user]
        for name, function in functions.items():
            totals[name] += function(recommended, relevant, k)
    return {name: total / len(users) for name, total in totals.items()}
