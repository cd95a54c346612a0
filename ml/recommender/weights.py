"""What an interaction weighs: its listen count, optionally compressed (log1p), and
optionally decayed with its age, so that recent listens count more than old ones.

Ages are measured from the newest interaction of the frame, not from the clock: the
same data gives the same weights any day, and a hold-out's training part is weighed as
it was at its cut-off. An interaction without a time keeps its whole weight.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

SECONDS_PER_DAY = 86_400


def newest_seen(interactions: DataFrame) -> datetime | None:
    return interactions.agg(F.max("seen_at")).first()[0]


def decay(half_life_days: float, newest: datetime | None) -> Column:
    """0.5 ** (age in days / half-life) of each row's ``seen_at``; 1 for a half-life of
    0, a frame without times or a row without one."""
    if half_life_days <= 0 or newest is None:
        return F.lit(1.0)
    age_days = (F.lit(newest).cast("double") - F.col("seen_at").cast("double")) / SECONDS_PER_DAY
    return F.coalesce(F.pow(F.lit(0.5), age_days / half_life_days), F.lit(1.0))


def weighted(interactions: DataFrame, confidence: str, half_life_days: float) -> DataFrame:
    """``interactions`` with ``weight`` replaced by its confidence: the listen count
    ("raw") or log1p of it, times its decay."""
    count = F.log1p(F.col("weight")) if confidence == "log1p" else F.col("weight")
    newest = newest_seen(interactions) if half_life_days > 0 else None
    return interactions.withColumn("weight", count * decay(half_life_days, newest))
