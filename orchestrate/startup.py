"""What every local launcher shares: one-line errors, parseable log lines, port probes."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


class StartupError(RuntimeError):
    """A problem the user can fix (port taken, server missing...): one line, no traceback."""


def log(event: str, **fields: object) -> None:
    """One `key=value` line per event on stderr, so stdout stays free for results (e.g. a URL)."""
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} event={event} {details}", file=sys.stderr, flush=True)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def die_with_parent() -> None:
    """In a child, before it runs: the kernel sends it SIGTERM when its parent dies, even by
    SIGKILL, so a killed supervisor leaves no step running unlocked beside the next run and
    no server holding its port (Linux; elsewhere a no-op)."""
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 10) -> None:
    """Stop a child this program started, by its PID: SIGTERM, then SIGKILL if it is still
    there after ``grace_s`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
