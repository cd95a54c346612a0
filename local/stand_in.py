"""The stand-in API (api/stand_in/) as a child process: the one way `make run`, the tests and the
benchmarks start it, wait until it answers, and stop it by its PID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from orchestrate.project import PROJECT_ROOT
from orchestrate.startup import StartupError, die_with_parent, stop_process


class StandInError(StartupError):
    """The stand-in exited at start or did not answer in time."""


def stand_in_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """The process environment without any MOOVITAMIX_API_* of the caller's shell, then
    `variables`: the world served is the one asked for, and the truth a test computes
    from the same variables matches it."""
    base = {name: value for name, value in os.environ.items() if not name.startswith("MOOVITAMIX_API_")}
    return {**base, **variables}


def start_stand_in(
    variables: Mapping[str, str],
    port: int,
    log_path: Path,
    timeout_s: float = 60,
    *,
    tied_to_parent: bool = False,
    own_session: bool = False,
) -> subprocess.Popen[bytes]:
    """The stand-in serving on 127.0.0.1:`port` with `variables` (its MOOVITAMIX_API_*
    data and faults), once it answers; its output appended to `log_path`.

    `tied_to_parent`: the kernel stops it when its parent dies, even by SIGKILL, so its
    port is free for the next run. `own_session`: a test can kill it with its group."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.stand_in"],
            cwd=PROJECT_ROOT,
            env={**stand_in_environment(variables), "MOOVITAMIX_API_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if tied_to_parent else None,
            start_new_session=own_session,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise StandInError(f"the stand-in API exited at start (code {server.returncode}), see {log_path}")
        try:
            # /openapi.json is not a data endpoint: no fault is ever injected there.
            if requests.get(f"{url}/openapi.json", timeout=5).ok:
                return server
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            stop_process(server)
            raise StandInError(f"the stand-in API did not answer within {timeout_s:g} s, see {log_path}")
        time.sleep(0.2)


@contextmanager
def running_stand_in(
    variables: Mapping[str, str], port: int, log_path: Path, timeout_s: float = 60, *, tied_to_parent: bool = False
) -> Iterator[str]:
    """The stand-in's URL while the block runs; stopped by its PID afterwards."""
    server = start_stand_in(variables, port, log_path, timeout_s, tied_to_parent=tied_to_parent)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(server, grace_s=15)
