"""Shared helpers: read every page, and run ``python -m api.stand_in`` as a real server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx

from local.ports import free_port
from local.stand_in import stand_in_environment, start_stand_in
from orchestrate.project import PROJECT_ROOT
from orchestrate.startup import stop_process

ENDPOINTS = ("/tracks", "/users", "/listen_history")


class Getter(Protocol):
    def get(self, url: str, **kwargs: Any) -> httpx.Response: ...


def read_all(client: Getter, path: str, size: int = 100) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    first = client.get(path, params={"size": size}).json()
    for page in range(1, first["pages"] + 1):
        body = client.get(path, params={"page": page, "size": size}).json()
        assert (body["total"], body["pages"]) == (first["total"], first["pages"])
        items.extend(body["items"])
    return items


def api_process(env_overrides: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    """`python -m api.stand_in` itself, not waited for: what a test of its start-up refusals needs."""
    command = [sys.executable, "-m", "api.stand_in"]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=stand_in_environment(env_overrides), text=True, **kwargs)


@contextmanager
def running_api(env_overrides: dict[str, str], log: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    """A real server on a free port; yields its URL and a function returning its output so far."""
    port = free_port()
    server = start_stand_in(env_overrides, port, log, 30)
    try:
        yield f"http://127.0.0.1:{port}", log.read_text
    finally:
        stop_process(server, grace_s=15)
