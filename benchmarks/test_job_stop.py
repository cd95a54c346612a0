"""Stopping an interrupted job: its whole tree ends within the stages, the processes that
left its session included, and a second Ctrl-C shortens the stop without aborting it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.job_stop import job_tree, parse_process_state, running_processes, stop_job
from benchmarks.process_memory import ProcessId

# A fake daily job, `python fake_job.py MARKS ROLE`: each process, once its signals are set,
# leaves a file MARKS/ROLE-PID, then sleeps. The leader starts a "jvm" in its group that ignores
# SIGINT (as PySpark starts its JVM) and a "detached" in a session of its own that ignores SIGINT
# and SIGTERM, with a "worker" that does too: only SIGKILL by PID ends those two.
FAKE_JOB = """
import os, signal, subprocess, sys, time

marks, role = sys.argv[1], sys.argv[2]


def start(child, **options):
    return subprocess.Popen([sys.executable, __file__, marks, child], **options)


if role in ("leader", "orphaning-leader", "middle"):
    # Ctrl-C ends it, as it ends the benchmark's job (whose SIGINT handler is reset to the
    # default at exec), whatever the test runner inherited: a runner started in the
    # background by a script has SIGINT ignored, and so would this process.
    signal.signal(signal.SIGINT, signal.default_int_handler)
if role in ("stubborn-leader", "jvm", "detached", "worker"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
if role in ("detached", "worker"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if role in ("leader", "stubborn-leader"):
    start("jvm")
    start("detached", start_new_session=True)
elif role == "orphaning-leader":  # its "middle" starts the detached one and ends at once
    start("middle").wait()
elif role == "middle":
    start("detached", start_new_session=True)
elif role == "detached":
    start("worker")
open(os.path.join(marks, f"{role}-{os.getpid()}"), "w").close()
if role != "middle":
    time.sleep(60)
"""
SHORT_STAGES = ((signal.SIGINT, 2.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0))


def running(processes: set[ProcessId]) -> set[ProcessId]:
    table = running_processes()
    return {p for p in processes if p.pid in table and table[p.pid].start_ticks == p.start_ticks}


@pytest.fixture
def fake_job(tmp_path: Path) -> Iterator[Any]:
    """start(role) -> (the job, as run_day starts it, with its processes by role once all are up)."""
    script, marks = tmp_path / "fake_job.py", tmp_path / "marks"
    script.write_text(FAKE_JOB)
    marks.mkdir()
    started: list[ProcessId] = []

    def start(role: str, expected: int = 4) -> tuple[subprocess.Popen[bytes], dict[str, ProcessId]]:
        job = subprocess.Popen([sys.executable, str(script), str(marks), role], stderr=subprocess.DEVNULL,
                               start_new_session=True)
        deadline = time.monotonic() + 20
        while len(list(marks.iterdir())) < expected:
            assert time.monotonic() < deadline, "the fake job did not start"
            time.sleep(0.05)
        processes: dict[str, ProcessId] = {}
        for mark in marks.iterdir():
            name, pid = mark.name.rsplit("-", 1)
            try:
                processes[name] = ProcessId(int(pid), parse_process_state(Path(f"/proc/{pid}/stat").read_text())
                                            .start_ticks)
            except FileNotFoundError:  # the middle one, which has ended
                continue
        started.extend(processes.values())
        return job, processes

    yield start
    for process in running(set(started)):  # by PID, whatever the test did
        os.kill(process.pid, signal.SIGKILL)



def test_stop_job_ends_the_whole_tree_within_its_stages(fake_job: Any) -> None:
    job, processes = fake_job("leader")
    tree = set(processes.values())
    began = time.monotonic()
    left = stop_job(job, (), SHORT_STAGES, poll_s=0.05)
    # SIGINT ends the leader at once; SIGTERM the jvm; SIGKILL, a second later, the other two,
    # which left the job's group and session and, their parent gone, are its tree no more.
    assert time.monotonic() - began < 4
    assert left == set()
    assert running(tree) == set()
    assert job.returncode == -signal.SIGINT or job.returncode == 1  # a Python killed by Ctrl-C


def test_stop_job_reaches_a_process_that_left_the_session_and_lost_its_parent(fake_job: Any) -> None:
    job, processes = fake_job("orphaning-leader")
    detached, worker = processes["detached"], processes["worker"]
    assert detached not in job_tree(job.pid, ())  # only the sampler, which met it, can tell
    left = stop_job(job, [detached], SHORT_STAGES, poll_s=0.05)
    assert left == set()
    assert running(set(processes.values())) == set()
    assert running({worker}) == set()


def test_a_second_interrupt_shortens_the_stop_and_does_not_abort_it(fake_job: Any, signal_handlers: None) -> None:
    job, processes = fake_job("stubborn-leader")  # a job busy enough to ignore Ctrl-C
    ours = signal.getsignal(signal.SIGINT)

    def press_ctrl_c_again() -> None:
        deadline = time.monotonic() + 10
        while signal.getsignal(signal.SIGINT) == ours and time.monotonic() < deadline:
            time.sleep(0.01)  # until the stop has begun
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_again)
    presser.start()
    began = time.monotonic()
    try:
        left = stop_job(job, (), ((signal.SIGINT, 30.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0)), poll_s=0.05)
    finally:
        presser.join()
    assert time.monotonic() - began < 5  # not the 30 s of SIGINT's stage
    assert left == set()
    assert running(set(processes.values())) == set()
    assert signal.getsignal(signal.SIGINT) == ours  # the benchmark's own handler is back
