"""The stand-in API as the benchmarks run it: a child process on a port of their own,
ready when it answers a page, stopped by its PID afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from orchestrate.project import PROJECT_ROOT
from orchestrate.startup import stop_process


@contextmanager
def running_stand_in(
    env: Mapping[str, str], port: int, log_path: Path, timeout_s: float = 300
) -> Iterator[str]:
    """The stand-in's URL while the block runs (``env`` sets its MOOVITAMIX_API_* data)."""
    with log_path.open("ab") as api_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "api"],
            cwd=PROJECT_ROOT,
            env={**env, "MOOVITAMIX_API_PORT": str(port)},
            stdout=api_log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the stand-in exited with code {server.returncode}; see {log_path}")
            try:
                if requests.get(f"{url}/tracks", params={"page": 1, "size": 1}, timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the stand-in did not answer within {timeout_s:g} s; see {log_path}")
            time.sleep(0.2)
        yield url
    finally:
        stop_process(server, grace_s=15)
