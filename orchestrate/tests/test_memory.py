"""The job's memory is sampled over its whole process tree, grandchildren included."""

from __future__ import annotations

import subprocess
import sys
import time

from orchestrate.memory import TreeMemory

# A child that starts a grandchild holding 150 MB, as Meltano starts a plugin and a plugin a JVM.
GRANDCHILD = "b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(4)"
CHILD = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {GRANDCHILD!r}])"


def test_the_peak_counts_the_grandchildren_and_restarts_at_each_mark() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD])
    memory = TreeMemory(child.pid, period_s=0.1)
    memory.start()
    try:
        time.sleep(2.5)
        assert memory.peak_since_mark() > 150 * 2**20
    finally:
        memory.stop()
        memory.join()
        child.wait(timeout=30)
    memory.mark()  # a new step: its peak starts from nothing
    assert memory.peak_since_mark() == 0
