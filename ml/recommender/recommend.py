"""The published lists: the serving model's top-N for the users it knows, popularity of
the favourite genre for everyone else (cold start), in warehouse ids."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .popularity import listeners, popularity_of
from .score import COLD_START, FALLBACK, Candidates, top_n_lists, user_factors
from .train import candidate_pool


@dataclass(frozen=True)
class ListCounts:
    users: int
    rows: int
    # Users without any interaction: the favourite genre's most popular tracks.
    cold_start_users: int
    # Users with history the serving model does not know (it was trained before they
    # appeared): popular tracks they have not heard.
    fallback_users: int
    # Users whose published list was copied, not scored (reuse.py): model lists.
    kept_users: int = 0

    def with_kept(self, users: int, rows: int) -> ListCounts:
        return ListCounts(
            users=self.users + users,
            rows=self.rows + rows,
            cold_start_users=self.cold_start_users,
            fallback_users=self.fallback_users,
            kept_users=users,
        )

    @classmethod
    def of(cls, lists: DataFrame) -> ListCounts:
        """Counted by the executors; one small row per source comes back."""
        by_source = {
            row["source"]: (row["users"], row["rows"])
            for row in lists.groupBy("source")
            .agg(F.countDistinct("user_id").alias("users"), F.count(F.lit(1)).alias("rows"))
            .collect()
        }
        return cls(
            users=sum(users for users, _ in by_source.values()),
            rows=sum(rows for _, rows in by_source.values()),
            cold_start_users=by_source.get(COLD_START, (0, 0))[0],
            fallback_users=by_source.get(FALLBACK, (0, 0))[0],
        )


def build_lists(
    interactions: DataFrame,
    users: DataFrame,
    track_genres: DataFrame,
    track_indices: DataFrame,
    model: ALSModel | None,
    n: int,
    pool_size: int,
    popularity_half_life_days: float = 0.0,
    kept: DataFrame | None = None,
) -> DataFrame:
    """(user_id, rank, track_id, score, source) for every user of ``users`` (user_id,
    favorite_genre) or of ``interactions`` (with user_idx, track_idx) but those of
    ``kept`` (user_id: their published lists stay); ``track_genres`` is (track_id, genre)
    and ``track_indices`` the track mapping (id, idx). The popularity lists (cold start, users
    the model does not know, everyone without a model) are recent popularity's with a
    half-life > 0. Popularity and the candidate pool count every interaction."""
    scored_interactions, scored_users = interactions, users
    if kept is not None:
        scored_interactions = interactions.join(kept, "user_id", "left_anti")
        scored_users = users.join(kept, "user_id", "left_anti")
    histories = scored_interactions.groupBy("user_id", "user_idx").agg(
        F.collect_list("track_idx").alias("seen")
    )
    everyone = scored_users.select("user_id", F.col("favorite_genre").alias("genre")).join(
        histories, "user_id", "full"
    )
    if model is not None:
        everyone = everyone.join(user_factors(model), "user_idx", "left")
    genre_of_track = track_genres.join(
        track_indices.select(F.col("id").alias("track_id"), F.col("idx").alias("track_idx")),
        "track_id",
    ).select("track_idx", "genre")
    # Counted once for the popularity heads and the model's candidate pool (recent
    # popularity has a ranking of its own).
    counted = listeners(interactions).cache()
    popularity = popularity_of(
        interactions,
        n,
        genre_of_track,
        scored_users.select("favorite_genre"),
        popularity_half_life_days,
        counted=counted if popularity_half_life_days <= 0 else None,
    )
    candidates = (
        Candidates.of(model, candidate_pool(counted, pool_size)) if model is not None else None
    )
    counted.unpersist()
    lists = top_n_lists(
        everyone.withColumnRenamed("user_id", "user_key"), n, popularity, candidates
    )
    track_ids = track_indices.select(F.col("idx").alias("track_idx"), F.col("id").alias("track_id"))
    return lists.join(track_ids, "track_idx").select(
        F.col("user_key").alias("user_id"), "rank", "track_id", "score", "source"
    )
