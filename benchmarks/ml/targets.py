"""What ``make bench-ml`` measures on each data set and split, and the targets that
apply to it. No Spark here: the figures come from quality.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PUBLISHED, SPARK, IMPLICIT, POPULARITY = "published", "Spark ALS", "implicit ALS", "popularity"
ORACLE = "oracle"
# Per-user hold-outs: the tuned Spark model against the tuned implicit one ...
MIN_SHARE_OF_IMPLICIT = 0.95
# ... and against popularity on the planted set (where a structure is known to exist).
MIN_PLANTED_LIFT = 2.0
MIN_SHARE_OF_ORACLE = 0.90
PLANTED = "planted"


@dataclass
class Case:
    data_set: str
    split: str
    users: int
    # recommender -> NDCG@10 on the hold-out.
    ndcg: dict[str, float] = field(default_factory=dict)
    # Recent popularity's, one per half-life: recommender label -> NDCG@10.
    recent: dict[str, float] = field(default_factory=dict)
    published: str = ""
    spark_settings: str = ""
    implicit_settings: str = ""
    seconds: float = 0.0

    def checks(self) -> list[tuple[str, float, float]]:
        """(what, value, minimum) of every target that applies to this case."""
        published, ndcg = self.ndcg[PUBLISHED], self.ndcg
        rows = [("published / popularity", ratio(published, ndcg[POPULARITY]), 1.0)]
        if self.recent:
            best_recent = max(self.recent.values())
            rows.append(("published / recent popularity", ratio(published, best_recent), 1.0))
        if self.split == "per_user":
            rows.append(("Spark / implicit", ratio(ndcg[SPARK], ndcg[IMPLICIT]), MIN_SHARE_OF_IMPLICIT))
        if self.split == "per_user" and self.data_set == PLANTED:
            rows.append(("Spark / popularity", ratio(ndcg[SPARK], ndcg[POPULARITY]), MIN_PLANTED_LIFT))
        if ORACLE in ndcg:
            rows.append(("published / oracle", ratio(published, ndcg[ORACLE]), MIN_SHARE_OF_ORACLE))
        return rows


def ratio(value: float, baseline: float) -> float:
    """value / baseline; a baseline of 0 is beaten by anything above it."""
    if baseline == 0:
        return math.inf if value > 0 else 1.0
    return value / baseline
