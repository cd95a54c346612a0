"""The /proc parsing and the arithmetic of the tree sampler, on fixed text and on this process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.process_memory import (
    ProcessId,
    Sample,
    TreeSampler,
    descendants,
    is_alive,
    parse_kb,
    parse_stat,
    peak,
    peak_pss,
    role,
)


def test_parse_stat_counts_fields_after_a_command_name_with_spaces_and_parentheses() -> None:
    fields_3_to_22 = "S 4133 4133 2395 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 25982"
    assert parse_stat(f"4137 (odd) name (x) {fields_3_to_22} 3133440 393") == (4133, 25982)


def test_parse_kb_reads_the_named_line_only() -> None:
    text = "Name:\tjava\nVmHWM:\t  900 kB\nVmRSS:\t  812 kB\nRssShmem:\t 4 kB\n"
    assert parse_kb(text, "VmRSS") == 812
    assert parse_kb(text, "Pss") is None
    assert parse_kb("Rss:  1768 kB\nPss:   274 kB\nPss_Dirty:  116 kB\n", "Pss") == 274


def test_descendants_follow_every_generation_and_skip_other_trees() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 11, 13: 10, 20: 1, 21: 20, 30: 1}
    assert descendants(parents, [10, 20]) == {10: 10, 11: 10, 12: 10, 13: 10, 20: 20, 21: 20}
    assert descendants(parents, [99]) == {}  # a root that already ended


def test_role_names_the_module_the_script_or_the_program() -> None:
    assert role(["/srv/project/.venv/bin/python", "-m", "orchestrate.run_daily"]) == "orchestrate.run_daily"
    assert role(["python3.11", "-u", "/x/bin/meltano", "run"]) == "meltano"
    assert role(["/usr/lib/jvm/java-17/bin/java", "-cp", "x"]) == "java"
    assert role(["python3"]) == "python3"
    assert role([]) == "?"


def test_peak_picks_the_highest_rss_inside_the_window() -> None:
    samples = [Sample(1.0, 100, 50), Sample(2.0, 300, None), Sample(3.0, 200, 150), Sample(4.0, 900, 400)]
    assert peak(samples, 1.5, 3.5) == samples[1]
    assert peak(samples) == samples[3]
    assert peak(samples, 5.0, 6.0) is None
    assert peak_pss(samples, 1.5, 3.5) == 150  # a sample without PSS is skipped, not taken as 0
    assert peak_pss(samples, 1.9, 2.1) is None


def test_sampler_sees_a_grandchild_and_remembers_it_after_it_ends() -> None:
    # A child that starts a grandchild holding ~40 MB, both sleeping long enough to be sampled.
    code = (
        "import subprocess, sys, time;"
        "p = subprocess.Popen([sys.executable, '-c', 'b = bytearray(40 << 20); import time; time.sleep(1.5)']);"
        "p.wait()"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    sampler = TreeSampler({child.pid: None}, interval=0.1)
    sampler.start()
    time.sleep(1.0)
    samples = sampler.stop()
    child.wait()
    highest = peak(samples)
    assert highest is not None and highest.rss_kb > 40_000
    assert sum(highest.by_role.values()) == highest.rss_kb
    assert len({process.pid for process in sampler.seen}) == 2
    assert not any(is_alive(process) for process in sampler.seen)


def test_is_alive_tells_a_reused_pid_from_the_process_it_named() -> None:
    me = ProcessId(os.getpid(), 0)
    assert not is_alive(me)  # same PID, another start time
    with open(f"/proc/{os.getpid()}/stat") as stat:
        assert is_alive(ProcessId(os.getpid(), parse_stat(stat.read())[1]))
