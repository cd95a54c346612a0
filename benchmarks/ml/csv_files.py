"""The CSV files the benchmark's data sets are written as (standard library only: the
public set is converted in the benchmark's venv, the others in the project's)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

# `make evaluate`'s format (the recommender's offline.py reads it): one row per listen.
INTERACTIONS = ("user_id", "track_id", "weight", "timestamp")


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> int:
    """``header`` then ``rows``; returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written
