"""Ground truth for judging a recommender: what each user really likes.

Not served over HTTP (the real application has no such thing); tests import it.
"""

from __future__ import annotations

import numpy as np

from api.stand_in.histories import PREFERRED_SHARE
from api.stand_in.pools import GENRES
from api.stand_in.settings import Settings
from api.stand_in.world import World

__all__ = ["PREFERRED_SHARE", "true_preferences"]


def true_preferences(settings: Settings, day: int | None = None) -> dict[int, list[str]]:
    """User id -> the 1 to 3 genres the user prefers, favourite (``favorite_genres``) first.

    Realistic mode: PREFERRED_SHARE of each user's listens come from these genres (shared
    evenly), the rest from any genre. In shipped mode histories ignore preferences.
    """
    people = World(settings, day).people
    index = np.arange(people.size, dtype=np.int64)
    count, genres = people.preferences(index)
    return {
        user_id: [GENRES[g] for g in row[:n]]
        for user_id, n, row in zip(people.ids[index].tolist(), count.tolist(), genres.tolist(), strict=True)
    }
