"""The Docker engine the container targets and tests need, on a machine that may lack one.

    python -m containers.daemon start   # tools installed (root), a daemon started if none answers
    python -m containers.daemon stop    # the daemon `start` started, by its PID; no other

Debian's docker.io, docker-compose (Compose v1) and debootstrap are installed when root and
absent. A daemon started here has no bridge network (--bridge=none) and leaves the host's
firewall alone: every container runs on the host's network, on 127.0.0.1, so no traffic
goes to a bridge address. Its PID is kept in containers/.state/dockerd.pid.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(__file__).resolve().parent / ".state"
PID_FILE = STATE / "dockerd.pid"
PACKAGES = {"dockerd": "docker.io", "docker-compose": "docker-compose", "debootstrap": "debootstrap"}
# Debian's client (BuildKit built in) where both it and another one are installed.
DEBIAN_DOCKER = Path("/usr/bin/docker")


class Unavailable(Exception):
    """No daemon answers and none can be started here: why, in one line."""


def docker_client() -> str:
    return str(DEBIAN_DOCKER) if DEBIAN_DOCKER.exists() else "docker"


def answers(timeout: float = 15) -> bool:
    if shutil.which(docker_client()) is None:
        return False
    try:
        probe = subprocess.run([docker_client(), "info"], capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return [docker_client(), "compose"]


def install_tools() -> None:
    """Debian's packages for what is missing, when root; else say what is missing."""
    missing = sorted({package for tool, package in PACKAGES.items() if shutil.which(tool) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise Unavailable(f"{', '.join(missing)} not installed and not root (apt-get install {' '.join(missing)})")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
        result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if result.returncode != 0:
            raise Unavailable(f"{' '.join(command[:2])} failed: {result.stderr.strip()[-300:]}")


def start(timeout: float = 60) -> int | None:
    """A daemon that answers: the one running, or one started here (its PID returned)."""
    if answers():
        return None
    install_tools()
    if os.geteuid() != 0:
        raise Unavailable("no Docker daemon answers and only root can start one")
    STATE.mkdir(exist_ok=True)
    log = (STATE / "dockerd.log").open("ab")
    daemon = subprocess.Popen(["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false"],
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    PID_FILE.write_text(f"{daemon.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            PID_FILE.unlink(missing_ok=True)
            raise Unavailable(f"dockerd exited with code {daemon.returncode} (see {STATE / 'dockerd.log'})")
        if answers(timeout=5):
            return daemon.pid
        time.sleep(0.5)
    stop(daemon.pid)
    raise Unavailable(f"dockerd did not answer within {timeout:.0f} s (see {STATE / 'dockerd.log'})")


def stop(pid: int | None = None, timeout: float = 60) -> None:
    """Stop the daemon started here (SIGTERM, by its PID: it stops its containers first)."""
    if pid is None:
        if not PID_FILE.exists():
            return
        pid = int(PID_FILE.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:  # reap it when it is our child; otherwise its parent does
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            pass
        time.sleep(0.2)
    if PID_FILE.exists() and PID_FILE.read_text().strip() == str(pid):
        PID_FILE.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    action = parser.parse_args(argv).action
    try:
        if action == "start":
            pid = start()
            print(f"docker daemon: {'started, PID ' + str(pid) if pid else 'answering'}", flush=True)
        else:
            stop()
    except Unavailable as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
