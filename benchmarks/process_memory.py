"""Memory of process trees, sampled from /proc while they run: the peak RSS of `bench_day`.

Each sample walks /proc once, finds every process below the given roots (a process that
daemonizes leaves its tree, so a server such as Postgres is a root of its own) and sums
two figures over them:

- RSS (VmRSS of /proc/PID/status): what `ps`, `top` and the kernel's OOM killer see. It
  counts a shared page once per process that maps it: Postgres' shared buffers appear
  in every backend that touched them, so the sum over a tree overstates it;
- PSS (Pss of /proc/PID/smaps_rollup): each shared page divided among the processes that
  map it, so the sum is what the tree really holds. Reading it needs the right to trace
  the process (root, or the same user); without it the figure is left out (None).

Every process seen is remembered with its start time, so whoever started the trees can
stop what is still alive by PID afterwards, without ever hitting a process that reused
the PID in between.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Sample:
    at: float  # time.time() of the sample, comparable with timestamps from the database
    rss_kb: int
    pss_kb: int | None
    by_role: dict[str, int] = field(default_factory=dict)  # RSS per role, kB


@dataclass(frozen=True)
class ProcessId:
    """A PID and the start time the kernel gave it: together they name one process for good."""

    pid: int
    start_ticks: int


def parse_stat(text: str) -> tuple[int, int]:
    """(parent PID, start time in clock ticks) of a /proc/PID/stat line.

    The command name (field 2) is in parentheses and may itself hold spaces and ')':
    the fields are counted from the last ')'.
    """
    after_name = text[text.rindex(")") + 2 :].split()
    # after_name[0] is field 3 (state): ppid is field 4, starttime field 22.
    return int(after_name[1]), int(after_name[19])


def parse_kb(text: str, key: str) -> int | None:
    """The value in kB of a `Key:   1234 kB` line of /proc/PID/status or smaps_rollup."""
    prefix = f"{key}:"
    for line in text.splitlines():
        if line.startswith(prefix):
            return int(line[len(prefix) :].split()[0])
    return None


def descendants(parents: Mapping[int, int], roots: Iterable[int]) -> dict[int, int]:
    """Every process below each root, the root included, mapped to the root it is under."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, int] = {}
    for root in roots:
        if root not in parents:
            continue
        stack = [root]
        while stack:
            pid = stack.pop()
            if pid in found:
                continue
            found[pid] = root
            stack.extend(children.get(pid, ()))
    return found


def role(argv: list[str]) -> str:
    """A short name for what a process is, from its command line: the module of
    `python -m X`, else the script a Python runs, else the program's name."""
    if not argv:
        return "?"
    program = os.path.basename(argv[0])
    if program.startswith("python"):
        if "-m" in argv[:-1]:
            return argv[argv.index("-m") + 1]
        scripts = [arg for arg in argv[1:] if not arg.startswith("-")]
        return os.path.basename(scripts[0]) if scripts else program
    return program


def peak(samples: Iterable[Sample], start: float = float("-inf"), end: float = float("inf")) -> Sample | None:
    """The sample of highest RSS taken between start and end (inclusive), if any."""
    inside = [sample for sample in samples if start <= sample.at <= end]
    return max(inside, key=lambda sample: sample.rss_kb) if inside else None


def peak_pss(samples: Iterable[Sample], start: float = float("-inf"), end: float = float("inf")) -> int | None:
    """The highest PSS sum between start and end, kB (None if PSS could not be read)."""
    values = [sample.pss_kb for sample in samples if start <= sample.at <= end and sample.pss_kb is not None]
    return max(values) if values else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):  # the process ended meanwhile, or is not ours to read
        return None


def process_table() -> dict[int, tuple[int, int]]:
    """PID -> (parent PID, start ticks) of every process alive now."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir(PROC):
        if entry.name.isdigit() and (text := _read(PROC / entry.name / "stat")) is not None:
            table[int(entry.name)] = parse_stat(text)
    return table


def is_alive(process: ProcessId) -> bool:
    text = _read(PROC / str(process.pid) / "stat")
    return text is not None and parse_stat(text)[1] == process.start_ticks


class TreeSampler(threading.Thread):
    """Samples the trees under `roots` every `interval` seconds until stop() is called.

    roots maps each root PID to a fixed role for its whole tree (e.g. "postgres"), or to
    None: each process of that tree then gets the role of its own command line.
    """

    def __init__(self, roots: Mapping[int, str | None], interval: float = 0.5) -> None:
        super().__init__(name="tree-sampler", daemon=True)
        self.roots = dict(roots)
        self.interval = interval
        self.samples: list[Sample] = []
        self.seen: dict[ProcessId, int] = {}  # every process met, with the root it was under
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            self.samples.append(self.sample())
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self) -> list[Sample]:
        self._stop_event.set()
        self.join()
        return self.samples

    def sample(self) -> Sample:
        table = process_table()
        members = descendants({pid: parent for pid, (parent, _) in table.items()}, self.roots)
        rss_total = pss_total = 0
        pss_readable = True
        by_role: dict[str, int] = {}
        for pid, root in members.items():
            self.seen[ProcessId(pid, table[pid][1])] = root
            rss = parse_kb(_read(PROC / str(pid) / "status") or "", "VmRSS") or 0
            try:
                pss_total += parse_kb((PROC / str(pid) / "smaps_rollup").read_text(), "Pss") or 0
            except PermissionError:
                pss_readable = False
            except OSError:  # the process ended meanwhile: it holds nothing any more
                pass
            rss_total += rss
            # Read at every sample: a process can exec another program after it is first seen.
            argv = [arg for arg in (_read(PROC / str(pid) / "cmdline") or "").split("\0") if arg]
            name = self.roots[root] or role(argv)
            if rss:  # a process that ended but is not reaped yet holds nothing
                by_role[name] = by_role.get(name, 0) + rss
        return Sample(time.time(), rss_total, pss_total if pss_readable else None, by_role)
