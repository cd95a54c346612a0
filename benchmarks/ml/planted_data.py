"""A listen history with a planted structure, as ``make evaluate``'s CSV
(user_id,track_id,weight,timestamp) for ``make bench-ml``.

Every user has one or two favourite genres and takes ``PREFERRED_SHARE`` of their
listens there (the rest from any genre): what a personalised model can find and a
popularity list cannot. Tracks come out over the period and fade with age (half-life
``FADE_HALF_LIFE_DAYS``), so what is listened to next is driven by what is recent, as
in the real set: the time split rewards models that know it. Seeded: the same file
every run. Needs numpy only (the project's venv).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.ml.csv_files import INTERACTIONS, write_csv

GENRES = 12
DAYS = 90
PREFERRED_SHARE = 0.8
FADE_HALF_LIFE_DAYS = 20.0
SECONDS_PER_DAY = 86_400
FIRST_TRACK_ID = 100_000
FIRST_SECOND = 1_700_000_000  # the period's start: any fixed time does


@dataclass(frozen=True)
class Planted:
    """One row per listen (user, track: indices from 0; day: when, fractional), and
    what was planted: each track's genre and release day, each user's favourites."""

    user: np.ndarray
    track: np.ndarray
    day: np.ndarray
    genre_of_track: np.ndarray
    released: np.ndarray
    favourites: np.ndarray


def listens(users: int, tracks: int, seed: int) -> Planted:
    rng = np.random.default_rng(seed)
    genre_of_track = rng.integers(0, GENRES, tracks)
    # A quarter of the catalogue predates the period; the rest is released during it.
    released = np.where(rng.random(tracks) < 0.25, -DAYS, rng.uniform(0, DAYS, tracks))
    appeal = rng.pareto(1.5, tracks) + 1.0
    favourites = rng.integers(0, GENRES, (users, 2))
    # Half of the users like a single genre.
    single = rng.random(users) < 0.5
    favourites[single, 1] = favourites[single, 0]
    per_user = np.clip(rng.lognormal(3.3, 0.6, users).astype(int), 5, 300)
    user = np.repeat(np.arange(users), per_user)
    start = rng.uniform(0, DAYS * 0.8, users)
    day = rng.uniform(start[user], DAYS)
    liked = rng.random(len(user)) < PREFERRED_SHARE
    genre = np.where(liked, favourites[user, rng.integers(0, 2, len(user))], rng.integers(0, GENRES, len(user)))
    track = np.empty(len(user), dtype=np.int64)
    whole_day = day.astype(int)
    for today in range(DAYS):
        age = today - released
        weight = np.where(age >= 0, appeal * 0.5 ** (np.maximum(age, 0) / FADE_HALF_LIFE_DAYS), 0)
        for g in range(GENRES):
            rows = np.flatnonzero((whole_day == today) & (genre == g))
            in_genre = np.flatnonzero((genre_of_track == g) & (weight > 0))
            if len(rows) and len(in_genre):
                p = weight[in_genre] / weight[in_genre].sum()
                track[rows] = rng.choice(in_genre, size=len(rows), p=p)
            elif len(rows):
                track[rows] = rng.integers(0, tracks, len(rows))
    return Planted(user, track, day, genre_of_track, released, favourites)


def write(planted: Planted, path: Path) -> None:
    seconds = (planted.day * SECONDS_PER_DAY).astype(np.int64) + FIRST_SECOND
    rows = zip(planted.user + 1, planted.track + FIRST_TRACK_ID, seconds, strict=True)
    write_csv(path, INTERACTIONS, ((user, track, 1, second) for user, track, second in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=6_000)
    parser.add_argument("--tracks", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    planted = listens(args.users, args.tracks, args.seed)
    write(planted, args.out)
    print(f"planted set: {len(planted.user)} listens of {args.users} users written to {args.out}")


if __name__ == "__main__":
    main()
