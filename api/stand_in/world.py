"""The simulated world on a given day: the records each endpoint serves, in order.

Records are built on demand from their index (see api.stand_in.draws), so a page costs the same
at 1,000 or 1,000,000 records and nothing but ids and, in realistic mode, the genre
tables is held in memory. :func:`records` is what tests compare a warehouse against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.stand_in.catalogue import Catalogue
from api.stand_in.draws import Draws
from api.stand_in.histories import Histories
from api.stand_in.people import People
from api.stand_in.settings import Settings

Record = dict[str, Any]
ENDPOINTS = ("tracks", "users", "listen_history")


class World:
    def __init__(self, settings: Settings, day: int | None = None) -> None:
        self.settings = settings
        self.day = settings.day if day is None else day
        draws = Draws(settings.seed, settings.universe)
        self.catalogue = Catalogue(settings, draws, self.day)
        self.people = People(settings, draws, self.day)
        self.histories = Histories(self.catalogue, self.people)

    def size(self, endpoint: str) -> int:
        return self.catalogue.size if endpoint == "tracks" else self.people.size

    def page(self, endpoint: str, start: int, stop: int, inserted: int = 0) -> list[Record]:
        """Records at positions [start, stop) of the listing.

        ``inserted`` records born after today sit in front of the listing, newest first
        (the "shift" fault: a record added while a client pages through).
        """
        stop = min(stop, self.size(endpoint) + inserted)
        if start >= stop:
            return []
        position = np.arange(start, stop, dtype=np.int64)
        index = np.where(position < inserted, self.size(endpoint) + inserted - 1 - position, position - inserted)
        if endpoint == "tracks":
            return self.catalogue.records(index)
        if endpoint == "users":
            return self.people.records(index)
        return self.histories.records(index)


def records(settings: Settings, day: int | None = None) -> dict[str, list[Record]]:
    """Every record each endpoint serves on ``day`` (default: ``settings.day``), in order.

    After serving days 0..d, a warehouse that upserts by key must hold exactly
    ``records(settings, d)``: day d contains every record of earlier days, in its latest version.
    """
    world = World(settings, day)
    return {endpoint: world.page(endpoint, 0, world.size(endpoint)) for endpoint in ENDPOINTS}
