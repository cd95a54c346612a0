"""Structured log events of a stream's sync: what operators parse from the run's output.

Each event is ONE log message of `key=value` pairs separated by single spaces, starting
with `event=<name>`; values never contain spaces or `=` (numbers, stream names, class
names), so `dict(pair.split("=", 1) for pair in payload.split())` reads it back. Meltano
prefixes every plugin stderr line with its own fields; the payload stays one segment.
The events and their fields are listed in the tap's README ("Log events").
"""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass, field

UNKNOWN = "unknown"


def format_event(event: str, **fields: object) -> str:
    """Return `event=<event> k1=v1 k2=v2 ...`; None values are written as `unknown`."""
    pairs = [f"event={event}"]
    pairs += [f"{key}={UNKNOWN if value is None else value}" for key, value in fields.items()]
    return " ".join(pairs)


@dataclass
class StreamStats:
    """Counters of one stream's sync, across re-reads; updated from page-fetch threads."""

    stream: str
    read: int = 0  # distinct records read by the current (finally: the last) read
    emitted: int = 0  # records sent to the target, re-reads included
    pages: int = 0  # pages received, re-reads included
    retries: int = 0  # attempts that failed and were tried again
    http_429: int = 0  # 429 responses received
    rejected: int = 0  # records sent to rejected_records by the last read
    rereads: int = 0  # reads started again because the source shifted
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_failed_attempt(self, *, status: int | None, retried: bool) -> None:
        """Count one failed request attempt (thread-safe: pages are fetched in parallel)."""
        with self._lock:
            if status == 429:
                self.http_429 += 1
            if retried:
                self.retries += 1

    def summary(self, event: str, **extra: object) -> str:
        """Format the end-of-stream event `event` with every counter."""
        fields: dict[str, t.Any] = {
            "stream": self.stream,
            "records": self.read,
            "emitted": self.emitted,
            "pages": self.pages,
            "retries": self.retries,
            "http_429": self.http_429,
            "rejected": self.rejected,
            "rereads": self.rereads,
            "seconds": f"{time.monotonic() - self.started:.1f}",
        }
        return format_event(event, **fields, **extra)
