"""Shared helpers: read every page, and run ``python -m api`` as a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx

from local.ports import free_port
from orchestrate.project import PROJECT_ROOT

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOVITAMIX_API_")}
    env.update(env_overrides)
    return subprocess.Popen([sys.executable, "-m", "api"], cwd=PROJECT_ROOT, env=env, text=True, **kwargs)


@contextmanager
def running_api(env_overrides: dict[str, str], log: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    """A real server on a free port; yields its URL and a function returning its output so far."""
    port = free_port()
    with log.open("w+") as out:
        proc = api_process({**env_overrides, "MOOVITAMIX_API_PORT": str(port)}, stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, f"server exited: {log.read_text()}"
                assert time.monotonic() < deadline, "server never answered"
                try:
                    httpx.get(f"{url}/openapi.json", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url, log.read_text
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
