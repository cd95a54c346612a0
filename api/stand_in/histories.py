"""Listen histories: one per user, in the users' order.

shipped: 5 distinct tracks drawn uniformly, as the client's generator does; a history
that "grows" on a later day is redrawn (still 5 items) with a newer ``updated_at``.

realistic: 5 to 200 listens on day 0 (many short histories, a few long ones), then some
histories grow each day by appending 1 to 10 listens. Each listen comes from one of the
user's preferred genres with probability PREFERRED_SHARE (else from any genre) and picks a
track of that genre by Zipf popularity among the tracks that existed the day it was heard.
Listens may repeat a track. A history never exceeds the catalogue size minus
UNLISTENED_MIN, so a recommender can always find 10 tracks a user has not heard.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np

from api.stand_in.catalogue import Catalogue
from api.stand_in.columns import touched_at
from api.stand_in.draws import I64
from api.stand_in.people import People
from api.stand_in.pools import GENRES, format_timestamps
from api.stand_in.timeline import events, moment_in_day

Record = dict[str, Any]
SHIPPED_ITEMS = 5
PREFERRED_SHARE = 0.85
UNLISTENED_MIN = 10
MAX_GROWTH = 10


class Histories:
    def __init__(self, catalogue: Catalogue, people: People) -> None:
        self.catalogue = catalogue
        self.people = people
        self.settings = people.settings
        self.draws = people.draws
        self.today = people.today

    def lengths(self, index: I64) -> I64:
        """Realistic history lengths, one column per day 0..today (0 before the user exists)."""
        draws, days = self.draws, np.arange(self.today + 1)
        born = self.people.born(index)
        spread = draws.below("history.length", index, 196)
        initial = 5 + spread * spread // 195  # 5..200, skewed towards short histories
        grown = np.zeros((len(index), self.today + 1), dtype=np.int64)
        for day in range(1, self.today + 1):
            grows = draws.chance("history.grow", index, self.settings.daily_growth, day) & (born < day)
            grown[:, day] = grown[:, day - 1] + grows * (1 + draws.below("history.grow_by", index, MAX_GROWTH, day))
        cap = self.catalogue.size_on(days)[None, :] - UNLISTENED_MIN
        alive = born[:, None] <= days[None, :]
        return np.where(alive, np.minimum(initial[:, None] + grown, cap), 0)

    def records(self, index: I64) -> list[Record]:
        draws = self.draws
        born = self.people.born(index)
        version, last = events(draws, "history.grow", index, born, self.today, self.settings.daily_growth)
        created = moment_in_day(draws, "history.created", index, born)
        updated = touched_at(draws, "history.updated", index, born, created, version, last)
        if self.settings.mode == "realistic":
            items = self._realistic_items(index)
        else:
            items = self._shipped_items(index, version, np.where(version > 0, last, born))
        columns = zip(
            self.people.ids[index].tolist(), items, format_timestamps(created), format_timestamps(updated), strict=True
        )
        return [
            {"user_id": user_id, "items": listens, "created_at": created_at, "updated_at": updated_at}
            for user_id, listens, created_at, updated_at in columns
        ]

    def _shipped_items(self, index: I64, version: I64, drawn_on: I64) -> list[list[int]]:
        # random.Random with a str seed hashes it with SHA-512: stable across processes.
        s = self.settings
        sizes = self.catalogue.size_on(drawn_on).tolist()
        picks = [
            random.Random(f"{s.seed}:{s.universe}:history:{i}:{v}").sample(range(size), SHIPPED_ITEMS)
            for i, v, size in zip(index.tolist(), version.tolist(), sizes, strict=True)
        ]
        ids = self.catalogue.ids
        return [ids[p].tolist() for p in picks]

    def _realistic_items(self, index: I64) -> list[list[int]]:
        draws = self.draws
        lengths = self.lengths(index)
        final = lengths[:, -1]
        row = np.repeat(np.arange(len(index)), final)
        starts = np.concatenate(([0], np.cumsum(final)[:-1]))
        position = np.arange(int(final.sum())) - np.repeat(starts, final)
        # The day a listen was appended: the first day the history was longer than its position.
        heard_on = (lengths[row] <= position[:, None]).sum(axis=1)
        user = index[row]
        count, preferred = self.people.preferences(user)
        slot = draws.below("listen.slot", user, count, position)
        genre = np.where(
            draws.chance("listen.preferred", user, PREFERRED_SHARE, position),
            preferred[np.arange(len(user)), slot],
            draws.below("listen.genre", user, len(GENRES), position),
        )
        tracks = self.catalogue.ids[self.catalogue.draw(genre, heard_on, "listen.track", user, position)].tolist()
        bounds = np.concatenate(([0], np.cumsum(final))).tolist()
        return [tracks[a:b] for a, b in itertools.pairwise(bounds)]
