"""Helpers shared by the record builders of tracks, users and histories."""

from __future__ import annotations

import numpy as np

from api.stand_in.draws import I64, Draws
from api.stand_in.timeline import end_of_day, moment_in_day


def pick(pool: tuple[str, ...], choices: I64) -> list[str]:
    return [pool[c] for c in choices.tolist()]


def touched_at(draws: Draws, stream: str, index: I64, born: I64, created: I64, version: I64, last: I64) -> I64:
    """``updated_at``: a moment of the last update (or growth) day, else a moment after birth that day."""
    untouched = created + draws.below(stream, index, end_of_day(born) - created)
    return np.where(version > 0, moment_in_day(draws, stream, index, last, version), untouched)


def updated_at(
    draws: Draws, stream: str, index: I64, born: I64, created: I64, version: I64, last: I64, mode: str
) -> I64:
    """For tracks and users. The shipped generator draws a day-0 record's updated_at
    independently of created_at (so it may come first); realistic mode keeps it after."""
    touched = touched_at(draws, stream, index, born, created, version, last)
    if mode == "shipped":
        return np.where((born == 0) & (version == 0), moment_in_day(draws, stream, index, 0), touched)
    return touched
