"""How the world grows day by day: sizes, birth days, updates and their moments.

Day 0 is the world as first served; its timestamps fall in a fixed window (not "now",
so a seed gives the same bytes on any date). Day t >= 1 is the t-th day after that
window: records born, updated or grown that day get a moment inside it, so a day's
changes are always newer than everything before them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from api.stand_in.draws import I64, Draws

WINDOW_START = datetime(2025, 1, 1)
WINDOW_END = datetime(2026, 11, 1)
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
WINDOW_START_US = (WINDOW_START - _EPOCH) // _US
WINDOW_END_US = (WINDOW_END - _EPOCH) // _US
DAY_US = timedelta(days=1) // _US
# The shipped generator draws ids in 1..100000; larger worlds need a larger range to keep
# ids unique, and a range ten times the day-0 size leaves room for the days that follow
# and lets two universes share some ids (the identity conflicts the pipeline must survive).
SHIPPED_ID_RANGE = 100_000
# At most this many records can be pushed in front of a listing by the "shift" fault.
SHIFT_CAPACITY = 10_000


def id_range(day0_size: int) -> int:
    return max(SHIPPED_ID_RANGE, 10 * day0_size)


def new_per_day(day0_size: int, daily_new: float) -> int:
    return math.ceil(day0_size * daily_new)


def size_at(day0_size: int, daily_new: float, day: int) -> int:
    return day0_size + day * new_per_day(day0_size, daily_new)


def born_day(index: npt.ArrayLike, day0_size: int, daily_new: float, today: int) -> I64:
    """The day each record index first appears; indices past today's size count as today."""
    i = np.asarray(index, dtype=np.int64)
    per_day = new_per_day(day0_size, daily_new)
    if per_day == 0:
        return np.where(i < day0_size, 0, today).astype(np.int64)
    return np.minimum(np.maximum(i - day0_size, -1) // per_day + 1, today).astype(np.int64)


def moment_in_day(draws: Draws, stream: str, index: npt.ArrayLike, day: npt.ArrayLike, salt: npt.ArrayLike = 0) -> I64:
    """A microsecond timestamp inside day ``day`` (day 0 is the whole initial window)."""
    d = np.asarray(day, dtype=np.int64)
    start = np.where(d == 0, WINDOW_START_US, WINDOW_END_US + (d - 1) * DAY_US)
    length = np.where(d == 0, WINDOW_END_US - WINDOW_START_US, DAY_US)
    return start + draws.below(stream, index, length, salt)


def end_of_day(day: npt.ArrayLike) -> I64:
    return WINDOW_END_US + np.asarray(day, dtype=np.int64) * DAY_US


def events(draws: Draws, stream: str, index: npt.ArrayLike, born: I64, today: int, rate: float) -> tuple[I64, I64]:
    """(how many times, last day) each record was touched after its birth, up to today.

    Each (record, day) is an independent draw, so a record's past never depends on
    which day is being served.
    """
    i = np.asarray(index, dtype=np.int64)
    count = np.zeros(i.shape, dtype=np.int64)
    last = np.zeros(i.shape, dtype=np.int64)
    if rate <= 0:
        return count, last
    for day in range(1, today + 1):
        hit = draws.chance(stream, i, rate, salt=day) & (born < day)
        count += hit
        last = np.where(hit, day, last)
    return count, last
