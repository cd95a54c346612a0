"""Dense integer indices for user and track ids, stable from one day to the next.

ALS indexes users and items as 32-bit ints and its factor matrices are laid out by
index, so raw ids (bigint, sparse, possibly > 2^31) are mapped to 0..n-1. The mapping
only ever grows: an id keeps its index forever, new ids get the next free ones. That is
what lets yesterday's champion model be scored on today's data (same index, same user).
The warehouse keeps the mapping in ml.user_index / ml.track_index (see data.py); the
offline CSV evaluation builds one in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def extend_mapping(existing: pd.Series, ids: pd.Series) -> pd.Series:
    """The entries to add to ``existing`` (id -> index) so every id in ``ids`` has one.

    New ids are numbered in ascending id order from max(existing) + 1, so the result
    does not depend on the order the rows arrived in.
    """
    unknown = np.setdiff1d(ids.dropna().unique().astype("int64"), existing.index.to_numpy())
    start = int(existing.max()) + 1 if len(existing) else 0
    return pd.Series(
        np.arange(start, start + len(unknown), dtype="int64"),
        index=pd.Index(np.sort(unknown), dtype="int64"),
        dtype="int64",
    )


def empty_mapping() -> pd.Series:
    return pd.Series([], index=pd.Index([], dtype="int64"), dtype="int64")


def apply_mapping(interactions: pd.DataFrame, users: pd.Series, tracks: pd.Series) -> pd.DataFrame:
    """Add ``user_idx`` / ``track_idx`` (int32, what ALS takes) to the interactions."""
    mapped = interactions.assign(
        user_idx=interactions["user_id"].map(users),
        track_idx=interactions["track_id"].map(tracks),
    )
    if mapped[["user_idx", "track_idx"]].isna().any().any():
        raise ValueError("an id has no index: extend the mapping before applying it")
    return mapped.astype({"user_idx": "int32", "track_idx": "int32"})
