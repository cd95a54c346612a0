"""The published lists: the serving model's top-N for the users it knows, popularity of
the favourite genre for everyone else (cold start)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass

import pandas as pd

from .data import RecommendationRow
from .popularity import Popularity, Ranked


@dataclass
class Published:
    # user_id -> n (track_id, score), best first.
    lists: dict[int, Ranked]
    # Users without any interaction: the favourite genre's most popular tracks.
    cold_start_users: int
    # Users with history the serving model does not know (it was trained before they
    # appeared): popularity lists without their listened tracks.
    fallback_users: int

    def rows(self) -> Iterator[RecommendationRow]:
        for user_id in sorted(self.lists):
            for rank, (track_id, score) in enumerate(self.lists[user_id], start=1):
                yield user_id, rank, track_id, score


def _fill(ranked: Ranked, popularity: Popularity, seen: Set[int], n: int) -> Ranked:
    """Complete a list shorter than n (a model that knows few tracks) with popular ones."""
    if len(ranked) >= n:
        return ranked[:n]
    taken = seen | {track for track, _ in ranked}
    return ranked + popularity.top_n(n - len(ranked), taken)


def build_lists(
    model_lists: Mapping[int, Ranked],
    interactions: pd.DataFrame,
    users: pd.DataFrame,
    popularity: Popularity,
    n: int,
) -> Published:
    """``model_lists`` and ``popularity`` are in index space (user_idx, track_idx);
    ``interactions`` carries both ids and indices; ``users`` is (user_id, favorite_genre).
    The result is in warehouse ids."""
    track_id_of = dict(zip(interactions["track_idx"], interactions["track_id"], strict=True))
    idx_of_user = dict(zip(interactions["user_id"], interactions["user_idx"], strict=True))
    seen: dict[int, set[int]] = {}
    for user, track in zip(interactions["user_idx"], interactions["track_idx"], strict=True):
        seen.setdefault(int(user), set()).add(int(track))
    genre_of_user = dict(zip(users["user_id"], users["favorite_genre"], strict=True))

    lists: dict[int, Ranked] = {}
    cold = fallback = 0
    for user_id in sorted(set(genre_of_user) | set(idx_of_user)):
        user_idx = idx_of_user.get(user_id)
        if user_idx is None:
            ranked = popularity.top_n(n, genre=genre_of_user.get(user_id))
            cold += 1
        elif int(user_idx) in model_lists:
            ranked = _fill(model_lists[int(user_idx)], popularity, seen[int(user_idx)], n)
        else:
            ranked = popularity.top_n(n, seen[int(user_idx)], genre_of_user.get(user_id))
            fallback += 1
        lists[int(user_id)] = [(int(track_id_of[track]), score) for track, score in ranked]
    return Published(lists=lists, cold_start_users=cold, fallback_users=fallback)
