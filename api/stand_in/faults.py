"""Seeded misbehaviour of the data endpoints, each fault with its own rate (api.stand_in.settings.Faults).

Whether a fault hits a request is a draw keyed by (seed, fault, URL, how many times that
URL was requested before): the same client run meets the same faults, and a retry of a
failed URL gets a fresh draw. Every injected fault is reported as one log line:
``fault kind=<kind> path=<path> page=<n> size=<n> attempt=<n> [detail=<text>]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from api.stand_in.draws import Draws, stream_key
from api.stand_in.settings import Settings
from api.stand_in.timeline import SHIFT_CAPACITY, id_range

Record = dict[str, Any]
# The ways a record can break the contract; "unknown_track" only applies to histories.
CORRUPTIONS = ("wrong_type", "missing_field", "null_field", "unknown_track")


class FaultInjector:
    def __init__(self, settings: Settings, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.rates = settings.faults
        self._draws = Draws(settings.seed, settings.universe)
        self._log = log
        self._attempts: Counter[str] = Counter()
        # Records pushed in front of each listing by the "shift" fault.
        self.inserted: Counter[str] = Counter()

    def decide(self, endpoint: str, url: str) -> tuple[set[str], Reporter]:
        """The faults hitting this request, and how to report them."""
        attempt = self._attempts[url]
        self._attempts[url] += 1
        key = int(stream_key(url))
        hits = {
            f.name
            for f in fields(self.rates)
            if self._draws.chance(f"fault.{f.name}", key, getattr(self.rates, f.name), attempt)
        }
        if "shift" in hits and self.inserted[endpoint] >= SHIFT_CAPACITY:
            hits.discard("shift")
        return hits, Reporter(self._log, url, attempt, self._draws, key)

    def corrupt(self, endpoint: str, items: list[Record], reporter: Reporter) -> None:
        """Break one record of the page, in place."""
        if not items:
            return
        kinds = CORRUPTIONS if endpoint == "listen_history" else CORRUPTIONS[:-1]
        record = items[reporter.below("record", len(items))]
        kind = kinds[reporter.below("kind", len(kinds))]
        names = list(record)
        name = names[reporter.below("field", len(names))]
        if kind == "wrong_type":
            # Numbers become strings, everything else a number.
            record[name] = str(record[name]) if isinstance(record[name], int) else 12345
        elif kind == "missing_field":
            del record[name]
        elif kind == "null_field":
            record[name] = None
        else:
            # Above the id range: no track ever has this id.
            name = "items"
            unknown = id_range(self.settings.tracks) + 1 + reporter.below("track", 1_000_000)
            record["items"] = [*(record["items"] or []), unknown]
        reporter.report("bad_record", f"{kind}:{name}")


class Reporter:
    def __init__(self, log: Callable[[str], None], url: str, attempt: int, draws: Draws, key: int) -> None:
        self._log = log
        self._url = url
        self._attempt = attempt
        self._draws = draws
        self._key = key

    def below(self, what: str, high: int) -> int:
        """A draw for the details of a fault (which record, which field...)."""
        return int(self._draws.below(f"fault.detail.{what}", self._key, high, self._attempt))

    def report(self, kind: str, detail: str = "") -> None:
        path, _, query = self._url.partition("?")
        line = f"fault kind={kind} path={path} query={query or '-'} attempt={self._attempt + 1}"
        self._log(f"{line} detail={detail}" if detail else line)
