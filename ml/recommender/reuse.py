"""Lists kept from the last publication, on a day the served model stays.

A model list depends on the user's factors, the tracks they have listened to, the
candidate pool and (for a short list) popularity. With the same model, a user none of
whose pairs is newer than the model's training data has the same factors and the same
listened tracks, so their list would come out the same but for the pool's and
popularity's daily drift: it is copied from the published table, in Postgres, instead of
scored again. Everyone else is scored: users whose history grew, users the model does
not know (popularity lists, which move every day), new users. Each user is still scored
again every ``every_days`` days, a hashed share of them each day, so no list drifts for
longer. Pairs that disappear from a history are not looked for: that user is scored
again on their day of the rotation.
"""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def why_everyone_is_scored(
    serves_a_model: bool, learnt_until: datetime | None, every_days: int
) -> str | None:
    """Why no list can be kept today, or None when some can."""
    if not serves_a_model:
        return "popularity lists move every day: every user scored"
    if every_days <= 1:
        return "every list is scored every day (RECOMMENDATIONS_RESCORE_EVERY_DAYS=1)"
    if learnt_until is None:
        return "a new version serves (or its training data is unknown): every user scored"
    return None


def learnt_until_time(data_max_updated_at: str | None) -> datetime | None:
    """The newest update a model learnt (its run's data_max_updated_at), None if unknown."""
    try:
        return datetime.fromisoformat(data_max_updated_at or "")
    except ValueError:
        return None


def kept_users(
    published: DataFrame,
    known: DataFrame,
    current: DataFrame,
    interactions: DataFrame,
    learnt_until: datetime,
    every_days: int,
    today: date,
) -> DataFrame:
    """(user_id) of the users whose published list is kept: published with the served
    version (``published``), known to its model (``known``), still a user (``current``),
    without any pair of ``interactions`` first seen after ``learnt_until``, and not due
    today in the rotation of ``every_days`` days. Every frame has a user_id column."""
    changed = interactions.where(F.col("seen_at") > F.lit(learnt_until)).select("user_id")
    due = F.pmod(F.xxhash64("user_id"), F.lit(every_days)) == today.toordinal() % every_days
    return (
        published.select("user_id")
        .join(known.select("user_id"), "user_id", "left_semi")
        .join(current.select("user_id"), "user_id", "left_semi")
        .join(changed, "user_id", "left_anti")
        .where(~due)
    )
