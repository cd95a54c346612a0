"""Popularity lists: the evaluation baseline, the cold-start answer and the filler of
short model lists.

Popularity = number of distinct listeners of a track, ties broken by index so the lists
(and the table) are reproducible. Recent popularity counts each listener with the decay
of their interaction (weights.py): a listener of a week ago weighs half at a 7-day
half-life, so what is being listened to now comes first. A user without history gets
the most popular tracks of their favourite genre, then the most popular overall to fill
the list; a user with history gets the most popular tracks they have not heard.

Spark ranks every track; only the head of each ranking comes back to the driver, as
long as the longest history plus n (a user who heard every track of the head still
gets n), and it is what the scoring workers receive.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from .weights import decay, newest_seen

# (track_idx, score) pairs, best first.
Ranked = list[tuple[int, float]]


@dataclass(frozen=True)
class Popularity:
    overall: Ranked
    by_genre: dict[str, Ranked] = field(default_factory=dict)

    def top_n(
        self, n: int, seen: Collection[int] = frozenset(), genre: str | None = None
    ) -> Ranked:
        """n tracks not in ``seen``: the genre's most popular first (when a genre is
        given), then the most popular overall. A plain loop: it stops after n + |seen|
        items at most, where array operations would touch the whole heads per user."""
        skip = set(seen)
        chosen: Ranked = []
        for source in (self.by_genre.get(genre or "", []), self.overall):
            for track, score in source:
                if len(chosen) == n:
                    return chosen
                if track not in skip:
                    chosen.append((track, score))
                    skip.add(track)
        return chosen


def listeners(interactions: DataFrame, half_life_days: float = 0.0) -> DataFrame:
    """(track_idx, listeners) of every listened track, from a frame of one row per user
    and track; with a half-life, each listener counts the decay of their interaction."""
    if half_life_days <= 0:
        # One row per listener, so rows are counted: a distinct count would shuffle every
        # row (49 M at 1,000,000 records) where a count sums each partition's tallies.
        return interactions.groupBy("track_idx").agg(
            F.count(F.lit(1)).cast("double").alias("listeners")
        )
    weight = decay(half_life_days, newest_seen(interactions))
    return interactions.groupBy("track_idx").agg(F.sum(weight).alias("listeners"))


def longest_history(interactions: DataFrame) -> int:
    counts = interactions.groupBy("user_idx").agg(F.count(F.lit(1)).alias("tracks"))
    return int(counts.agg(F.max("tracks")).first()[0] or 0)


def _ranked(rows: list) -> Ranked:  # type: ignore[type-arg]
    return [(int(r["track_idx"]), float(r["listeners"])) for r in rows]


def popularity_of(
    interactions: DataFrame,
    n: int,
    track_genres: DataFrame | None = None,
    wanted_genres: DataFrame | None = None,
    half_life_days: float = 0.0,
    counted: DataFrame | None = None,
) -> Popularity:
    """The heads of the rankings: overall, and per genre for the genres of
    ``wanted_genres`` (one column: the users' favourite genres), given each track's genre
    as (track_idx, genre); recent popularity with a half-life > 0. ``counted`` is
    ``listeners(interactions, half_life_days)`` when the caller already holds it (cached,
    to share with the candidate pool)."""
    ranked = counted if counted is not None else listeners(interactions, half_life_days).cache()
    length = n + longest_history(interactions)
    order = [F.desc("listeners"), F.asc("track_idx")]
    overall = _ranked(ranked.orderBy(*order).limit(length).collect())
    by_genre: dict[str, Ranked] = {}
    if track_genres is not None and wanted_genres is not None:
        wanted = wanted_genres.select(F.col(wanted_genres.columns[0]).alias("genre")).distinct()
        in_genre = Window.partitionBy("genre").orderBy(*order)
        heads = (
            ranked.join(track_genres.join(wanted, "genre", "left_semi"), "track_idx")
            .withColumn("position", F.row_number().over(in_genre))
            .where(F.col("position") <= length)
            .orderBy("genre", "position")
            .collect()
        )
        rows_of: dict[str, list] = {}  # type: ignore[type-arg]
        for row in heads:
            rows_of.setdefault(row["genre"], []).append(row)
        by_genre = {genre: _ranked(rows) for genre, rows in rows_of.items()}
    if counted is None:
        ranked.unpersist()
    return Popularity(overall=overall, by_genre=by_genre)
