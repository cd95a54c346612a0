"""The resident memory of the job's process tree (Meltano and every plugin under it),
sampled from /proc while it runs: what a step killed by the out-of-memory killer had
reached, which no exit status says."""

from __future__ import annotations

import os
import threading
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def descendants(pid: int) -> list[int]:
    """The process and all its descendants still alive (Linux: /proc/<pid>/task/*/children)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                waiting += [int(child) for child in children.read_text().split()]
            except OSError:
                continue
    return found


def resident_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
        except (OSError, IndexError, ValueError):
            continue  # ended between the listing and the reading
    return total


class TreeMemory(threading.Thread):
    """Samples the tree under `pid` every `period_s` seconds; `peak_since_mark()` is the
    highest total since the last `mark()` (the start of the current step)."""

    def __init__(self, pid: int, period_s: float = 1.0) -> None:
        super().__init__(daemon=True, name="tree-memory")
        self.pid, self.period_s = pid, period_s
        self._peak = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.period_s):
            self._peak = max(self._peak, resident_bytes(descendants(self.pid)))

    def mark(self) -> None:
        self._peak = 0

    def peak_since_mark(self) -> int:
        return self._peak

    def stop(self) -> None:
        self._stopped.set()
