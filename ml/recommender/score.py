"""Top-N lists, built on the executors, block by block.

Each worker receives the model's candidate tracks (their factors, broadcast once) and
the popularity heads; it scores a block of users against every candidate with one
matrix product, removes each user's listened tracks, keeps the n best, and completes a
short list with popular tracks. Users the model does not know get popularity (their
favourite genre first). Nothing per user comes back to the driver, and no candidate set
is over-fetched: a listened track is removed before the top n is chosen.

Evaluation and publication both go through ``top_n_lists``, so the offline metrics
measure exactly what users get.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from pyspark.broadcast import Broadcast
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .popularity import Popularity

LISTS_SCHEMA = "user_key long, rank int, track_idx int, score double, source string"
MODEL, FALLBACK, COLD_START = "model", "fallback", "cold_start"
# Scores held at once by one worker (float32): 2^24 cells are 64 MB, whatever the
# number of candidates (a block is this many cells / candidates users).
SCORE_CELLS = 1 << 24


@dataclass(frozen=True)
class Candidates:
    """The tracks the model may recommend, with their factors, and where each track
    index sits among them (-1: not a candidate)."""

    tracks: np.ndarray  # int64 [P]
    factors: np.ndarray  # float32 [P, rank]
    column_of: np.ndarray  # int64 [max track_idx + 1]

    @classmethod
    def of(cls, model: ALSModel, pool: DataFrame | None = None) -> Candidates:
        """The model's item factors, restricted to ``pool`` (one column, track_idx) when
        given. Their size is bounded by the pool, not by the data: this is the one
        model-sized thing the driver handles."""
        items = model.itemFactors
        if pool is not None:
            items = items.join(pool.select(F.col(pool.columns[0]).alias("id")), "id", "left_semi")
        rows = items.toPandas()
        tracks = rows["id"].to_numpy(dtype=np.int64)
        rank = model.rank
        factors = (
            np.stack(rows["features"].to_numpy()).astype(np.float32)
            if len(rows)
            else np.empty((0, rank), dtype=np.float32)
        )
        column_of = np.full(int(tracks.max()) + 1 if len(tracks) else 0, -1, dtype=np.int64)
        column_of[tracks] = np.arange(len(tracks))
        return cls(tracks=tracks, factors=factors, column_of=column_of)

    def columns(self, track_idx: np.ndarray) -> np.ndarray:
        inside = track_idx < len(self.column_of)
        return np.where(inside, self.column_of[np.where(inside, track_idx, 0)], -1)

    def top_n(
        self, vectors: np.ndarray, seen: list[np.ndarray], n: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each row of ``vectors`` (a block of users), the n best candidates it has not
        listened to, best first, ties broken by track index."""
        scores = vectors.astype(np.float32) @ self.factors.T
        rows = np.repeat(np.arange(len(seen)), [len(s) for s in seen])
        cols = self.columns(np.concatenate(seen)) if rows.size else rows
        heard = cols >= 0
        scores[rows[heard], cols[heard]] = -np.inf
        k = min(n, scores.shape[1])
        if k == 0:
            return [(np.empty(0, dtype=np.int64), np.empty(0))] * len(seen)
        best = (
            np.argpartition(-scores, k - 1, axis=1)[:, :k]
            if k < scores.shape[1]
            else np.tile(np.arange(k), (len(seen), 1))
        )
        best_scores = np.take_along_axis(scores, best, axis=1)
        best_tracks = self.tracks[best]
        order = np.lexsort((best_tracks, -best_scores), axis=1)
        best_scores = np.take_along_axis(best_scores, order, axis=1)
        best_tracks = np.take_along_axis(best_tracks, order, axis=1)
        finite = np.isfinite(best_scores)
        return [
            (best_tracks[i][finite[i]], best_scores[i][finite[i]].astype(np.float64))
            for i in range(len(seen))
        ]


def _as_array(value: object) -> np.ndarray:
    return np.empty(0, dtype=np.int64) if value is None else np.asarray(value, dtype=np.int64)


def _block_lists(
    block: pd.DataFrame, candidates: Candidates | None, popularity: Popularity, n: int
) -> pd.DataFrame:
    seen = (
        [_as_array(s) for s in block["seen"]] if "seen" in block else [_as_array(None)] * len(block)
    )
    has_history = (
        block["seen"].notna().to_numpy() if "seen" in block else np.zeros(len(block), bool)
    )
    genres = block["genre"].tolist() if "genre" in block else [None] * len(block)
    known = (
        block["features"].notna().to_numpy()
        if candidates is not None and "features" in block
        else np.zeros(len(block), dtype=bool)
    )
    model_lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if known.any():
        rows = np.flatnonzero(known)
        vectors = np.stack(block["features"].to_numpy()[rows])
        assert candidates is not None
        for row, ranked in zip(
            rows, candidates.top_n(vectors, [seen[r] for r in rows], n), strict=True
        ):
            model_lists[int(row)] = ranked

    keys, ranks, tracks, scores, sources = [], [], [], [], []
    for row, key in enumerate(block["user_key"].tolist()):
        if row in model_lists:
            chosen_tracks, chosen_scores = model_lists[row]
            ranked = list(zip(chosen_tracks.tolist(), chosen_scores.tolist(), strict=True))
            source = MODEL
            if len(ranked) < n:
                # A model that knows few tracks: complete with popular unheard ones.
                heard = set(seen[row].tolist()) | set(chosen_tracks.tolist())
                ranked += popularity.top_n(n - len(ranked), heard)
        else:
            source = FALLBACK if has_history[row] else COLD_START
            ranked = popularity.top_n(n, seen[row].tolist(), genres[row])
        for rank, (track, score) in enumerate(ranked, start=1):
            keys.append(key)
            ranks.append(rank)
            tracks.append(track)
            scores.append(score)
            sources.append(source)
    return pd.DataFrame(
        {
            "user_key": pd.Series(keys, dtype="int64"),
            "rank": pd.Series(ranks, dtype="int32"),
            "track_idx": pd.Series(tracks, dtype="int32"),
            "score": pd.Series(scores, dtype="float64"),
            "source": pd.Series(sources, dtype="object"),
        }
    )


def _partition_lists(
    batches: Iterator[pd.DataFrame],
    candidates: Broadcast | None,
    popularity: Broadcast,
    n: int,
) -> Iterator[pd.DataFrame]:
    chosen = candidates.value if candidates is not None else None
    block_users = max(1, SCORE_CELLS // max(1, len(chosen.tracks) if chosen else 1))
    for batch in batches:
        for start in range(0, len(batch), block_users):
            yield _block_lists(batch.iloc[start : start + block_users], chosen, popularity.value, n)


def top_n_lists(
    users: DataFrame,
    n: int,
    popularity: Popularity,
    candidates: Candidates | None = None,
) -> DataFrame:
    """(user_key, rank, track_idx, score, source) for every row of ``users``.

    ``users`` has ``user_key`` (any long the caller joins back on) and optionally
    ``seen`` (listened track indices; null: no history), ``features`` (the model's user
    factors; null: unknown to the model) and ``genre`` (favourite genre, for popularity).
    ``source`` says how each list was made: model, fallback (history the model does not
    know: popular unheard tracks) or cold_start (no history: favourite genre first).
    """
    context = users.sparkSession.sparkContext
    shared_candidates = context.broadcast(candidates) if candidates is not None else None
    shared_popularity = context.broadcast(popularity)
    return users.mapInPandas(
        partial(
            _partition_lists,
            candidates=shared_candidates,
            popularity=shared_popularity,
            n=n,
        ),
        LISTS_SCHEMA,
    )


def seen_lists(interactions: DataFrame, key: str = "user_idx") -> DataFrame:
    """(key, seen): each user's listened track indices."""
    return interactions.groupBy(key).agg(F.collect_list("track_idx").alias("seen"))


def user_factors(model: ALSModel) -> DataFrame:
    """(user_idx, features) of the users the model was trained on."""
    return model.userFactors.select(F.col("id").alias("user_idx"), "features")
