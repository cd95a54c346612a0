"""Deterministic synthetic listen histories with taste structure (users prefer one genre),
so a working ALS has something to find that popularity alone does not."""

from __future__ import annotations

import random


def synthetic_listens(
    n_users: int = 60,
    n_tracks: int = 40,
    n_genres: int = 4,
    items_per_user: int = 6,
    repeat_every: int = 3,
    seed: int = 7,
    first_user_id: int = 1000,
    first_track_id: int = 5000,
) -> list[tuple[int, int]]:
    """(user_id, track_id) listen rows. Each user has ``items_per_user`` distinct tracks,
    ~80 % from their favourite genre; every ``repeat_every``-th user listens to their
    first track twice (so weights of 2 exist)."""
    rng = random.Random(seed)
    tracks = [first_track_id + i for i in range(n_tracks)]
    by_genre = {g: [t for i, t in enumerate(tracks) if i % n_genres == g] for g in range(n_genres)}
    rows: list[tuple[int, int]] = []
    for u in range(n_users):
        user_id = first_user_id + u
        genre = u % n_genres
        chosen: list[int] = []
        while len(chosen) < items_per_user:
            pool = by_genre[genre] if rng.random() < 0.8 else tracks
            track = rng.choice(pool)
            if track not in chosen:
                chosen.append(track)
        rows.extend((user_id, t) for t in chosen)
        if repeat_every and u % repeat_every == 0:
            rows.append((user_id, chosen[0]))
    return rows
