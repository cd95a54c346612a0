"""The published lists: model lists for known users, cold start by favourite genre."""

from __future__ import annotations

import pandas as pd

from recommender.popularity import Popularity
from recommender.recommend import build_lists


def _interactions() -> pd.DataFrame:
    # Track ids 100 + idx. Listeners: 0 -> 3 users, 1 -> 2, 2 -> 2, 3 -> 1, 4 -> 1.
    pairs = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2), (3, 3), (3, 4)]
    return pd.DataFrame(
        {
            "user_id": [10 + u for u, _ in pairs],
            "track_id": [100 + t for _, t in pairs],
            "user_idx": [u for u, _ in pairs],
            "track_idx": [t for _, t in pairs],
        }
    )


GENRES = {0: "Rock", 1: "Jazz", 2: "Jazz", 3: "Jazz", 4: "Pop"}


def test_popularity_by_genre_then_overall() -> None:
    popularity = Popularity.from_interactions(_interactions(), GENRES)
    assert [t for t, _ in popularity.overall] == [0, 1, 2, 3, 4]
    assert [t for t, _ in popularity.top_n(3, genre="Jazz")] == [1, 2, 3]
    # Seen tracks are skipped; a short genre is completed with the overall ranking.
    assert [t for t, _ in popularity.top_n(3, seen={1}, genre="Pop")] == [4, 0, 2]


def test_cold_start_users_get_their_genre_and_known_users_the_model() -> None:
    interactions = _interactions()
    users = pd.DataFrame(
        {"user_id": [10, 11, 12, 13, 99], "favorite_genre": ["Rock", None, "Jazz", "Pop", "Jazz"]}
    )
    popularity = Popularity.from_interactions(interactions, GENRES)
    # The model knows users 0 and 1 only; user 0's list is short and must be filled.
    model_lists = {0: [(4, 0.9)], 1: [(3, 0.8), (4, 0.7)]}
    published = build_lists(model_lists, interactions, users, popularity, n=2)
    assert published.lists[99] == [(102, 2.0), (101, 2.0)] or [
        t for t, _ in published.lists[99]
    ] == [101, 102]
    assert [t for t, _ in published.lists[10]] == [104, 102]  # model, then popular unseen
    assert [t for t, _ in published.lists[11]] == [103, 104]
    # User 12 (idx 2) and 13 (idx 3) have history the model does not know: popular unseen.
    assert [t for t, _ in published.lists[12]] == [103, 104]
    assert published.cold_start_users == 1 and published.fallback_users == 2
    rows = list(published.rows())
    assert rows[0] == (10, 1, 104, 0.9) and len(rows) == 10
