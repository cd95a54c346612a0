"""Stopping a job that runs in a session of its own, and its whole process tree, by PID.

A benchmark interrupted mid-day must leave nothing of the job behind: a Spark JVM ignores
SIGINT, and a process that started a session of its own is out of reach of a signal to the
job's process group. So the job first gets Ctrl-C (its own clean-up runs), then every
process of its tree, read again from /proc at each poll, SIGTERM then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.process_memory import ProcessId, descendants

# How an interrupted job is stopped: each signal in turn, then up to that many seconds for it
# to work. SIGINT as Ctrl-C in the job's terminal (its `finally` blocks stop its stand-in and
# record the run), then SIGTERM, then SIGKILL for whatever of its tree is still running.
STOP_STAGES: tuple[tuple[signal.Signals, float], ...] = (
    (signal.SIGINT, 60.0), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0),
)

class DeferredInterrupts:
    """While entered, SIGINT and SIGTERM are counted instead of raising KeyboardInterrupt: a
    stop in progress (the job's, the warehouse's) runs to its end instead of being cut short
    and leaving processes behind; a second Ctrl-C only shortens the job's stop. Main thread only."""

    def __init__(self) -> None:
        self.received = 0
        self._previous: dict[signal.Signals, Any] = {}

    def _count(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1

    def __enter__(self) -> DeferredInterrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._count)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


@dataclass(frozen=True)
class ProcessState:
    state: str  # Z: ended, not reaped yet (a zombie holds nothing and cannot be signalled away)
    parent: int
    group: int
    session: int
    start_ticks: int


def parse_process_state(text: str) -> ProcessState:
    """The fields of a /proc/PID/stat line the job's stop needs (man 5 proc: fields 3 to 6, 22)."""
    after_name = text[text.rindex(")") + 2 :].split()
    return ProcessState(after_name[0], int(after_name[1]), int(after_name[2]), int(after_name[3]),
                        int(after_name[19]))


def running_processes() -> dict[int, ProcessState]:
    """PID -> state of every process that is running now (zombies left out)."""
    table: dict[int, ProcessState] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            process = parse_process_state(Path(entry.path, "stat").read_text())
        except (OSError, ValueError, IndexError):  # it ended meanwhile
            continue
        if process.state not in "ZXx":
            table[int(entry.name)] = process
    return table


def job_tree(leader: int | None, known: Iterable[ProcessId]) -> set[ProcessId]:
    """The running processes of a job: those of the process group and session `leader` heads
    (what Ctrl-C in its terminal reaches), those of `known` (met before), and every process
    below them. A process that started a session of its own is in neither group nor session:
    it is found below its parent, or, once its parent has ended, only if it was met before."""
    table = running_processes()
    roots = {pid for pid, process in table.items() if leader is not None and leader in (process.group, process.session)}
    roots |= {process.pid for process in known
              if process.pid in table and table[process.pid].start_ticks == process.start_ticks}
    below = descendants({pid: process.parent for pid, process in table.items()}, roots)
    return {ProcessId(pid, table[pid].start_ticks) for pid in below}


def leader_has_ended(job: subprocess.Popen[bytes]) -> bool:
    """Whether the job's first process has ended, without reaping it: until it is reaped its PID
    is given to no other process, so its group and session id still name the job's alone."""
    if job.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, job.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def signal_each(processes: Iterable[ProcessId], sig: signal.Signals) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):  # it ended since the tree was read
            os.kill(process.pid, sig)


def stop_job(
    job: subprocess.Popen[bytes],
    known: Iterable[ProcessId] = (),
    stages: tuple[tuple[signal.Signals, float], ...] = STOP_STAGES,
    poll_s: float = 0.2,
) -> set[ProcessId]:
    """Stop the job (started in a session of its own) and every process of its tree, by PID.

    SIGINT goes to its process group, as Ctrl-C in its terminal would send it; its stage ends
    when the job's first process has ended (its own clean-up is done). SIGTERM and SIGKILL go to
    every process of its tree, read again at each poll so that one forked meanwhile gets it too;
    their stages end when none is left. Each stage ends at the latest after its seconds. `known`:
    processes of the job met before (the sampler's), for one that started a session of its own
    and lost its parent. Returns what is still running at the end (nothing, unless the kernel
    could not end a process). Interrupts meanwhile end the stage waited on, never the stop."""
    # The leader is reaped only at the end: until then its PID names the job's group and session.
    leader = None if job.returncode is not None else job.pid
    with DeferredInterrupts() as interrupts:
        tree = job_tree(leader, known)
        for sig, grace in stages:
            received, deadline = interrupts.received, time.monotonic() + grace
            signalled: set[ProcessId] = set()
            group_signalled = False
            while True:
                tree = job_tree(leader, tree)  # who runs now: those forked meanwhile in, ended ones out
                if sig == signal.SIGINT:
                    if leader_has_ended(job):
                        break
                    if not group_signalled:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(job.pid, sig)
                        group_signalled = True
                else:
                    if not tree:
                        break
                    signal_each(tree - signalled, sig)
                    signalled |= tree
                if time.monotonic() >= deadline or interrupts.received > received:
                    break
                time.sleep(poll_s)
        left = job_tree(leader, tree)
    job.poll()
    return left
