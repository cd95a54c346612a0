"""``python -m api.stand_in`` as a real process: serving, determinism across processes, errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from api.tests.conftest import ENDPOINTS, api_process, running_api
from orchestrate.project import PROJECT_ROOT

PAGES = [(path, page, size) for path in ENDPOINTS for page, size in ((1, 100), (3, 37), (2, 100))]


def _bytes(url: str) -> list[bytes]:
    return [httpx.get(f"{url}{path}", params={"page": p, "size": s}).content for path, p, s in PAGES]


def test_two_processes_same_settings_serve_identical_bytes(tmp_path: Path) -> None:
    env = {"MOOVITAMIX_API_RECORDS": "400", "MOOVITAMIX_API_DAY": "2", "MOOVITAMIX_API_SEED": "9"}
    with running_api(env, tmp_path / "a.log") as (first, _), running_api(env, tmp_path / "b.log") as (second, _):
        served = _bytes(first)
        assert served == _bytes(second)
    with running_api({**env, "MOOVITAMIX_API_SEED": "10"}, tmp_path / "c.log") as (other, _):
        assert all(a != b for a, b in zip(served, _bytes(other), strict=True))


def test_serves_realistic_by_default_and_says_so(tmp_path: Path) -> None:
    with running_api({"MOOVITAMIX_API_RECORDS": "50"}, tmp_path / "api.log") as (url, output):
        body = httpx.get(f"{url}/tracks").json()
        assert (body["total"], body["size"], body["pages"], len(body["items"])) == (50, 100, 1, 50)
        assert "serving realistic data, day 0, universe 0, seed 42, 50 tracks and 50 users" in output()
        assert f"at {url}" in output()


def test_contract_module_checks_a_running_server(tmp_path: Path) -> None:
    """MOOVITAMIX_CONTRACT_URL points the contract tests at any server (here: a real process)."""
    with running_api({"MOOVITAMIX_API_RECORDS": "300"}, tmp_path / "api.log") as (url, output):
        env = {**os.environ, "MOOVITAMIX_CONTRACT_URL": url}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "api/tests/test_contract.py"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        served = output()
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout
    # The server's access log proves the checks went over HTTP to it.
    assert '"GET /listen_history?page=3&size=100 HTTP/1.1" 200' in served and "/openapi.json" in served


def test_port_in_use_is_one_clear_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = api_process({"MOOVITAMIX_API_PORT": str(port)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use (set MOOVITAMIX_API_PORT)"
