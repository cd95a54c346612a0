"""Faults: off by default, each switched on by its own rate, seeded, and logged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.stand_in.app import create_app
from api.stand_in.settings import Faults, Settings
from api.tests.conftest import running_api

LINE = re.compile(r"^fault kind=(\w+) path=(/\w+) query=(\S+) attempt=(\d+)( detail=\S+)?$")
SMALL = {"tracks": 300, "users": 300}


def _client(log: list[str], **rates: float) -> TestClient:
    return TestClient(create_app(Settings(**SMALL, faults=Faults(**rates), slow_seconds=0.2), fault_log=log.append))


def _kinds(log: list[str]) -> list[str]:
    matches = [LINE.match(line) for line in log]
    assert all(matches), log
    return [match.group(1) for match in matches if match]


def test_no_fault_by_default() -> None:
    log: list[str] = []
    client = TestClient(create_app(Settings(**SMALL), fault_log=log.append))
    for page in range(1, 5):
        assert client.get("/tracks", params={"page": page}).status_code == 200
    assert log == []


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [("http_500", 500, "Internal Server Error"), ("http_503", 503, "Service Unavailable")],
)
def test_server_errors(kind: str, status: int, body: str) -> None:
    log: list[str] = []
    response = _client(log, **{kind: 1.0}).get("/users", params={"page": 2})
    assert (response.status_code, response.text) == (status, body)
    assert log == [f"fault kind={kind} path=/users query=page=2 attempt=1"]


def test_429_with_retry_after() -> None:
    log: list[str] = []
    response = _client(log, http_429=1.0).get("/tracks")
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert _kinds(log) == ["http_429"]


def test_slow_response_is_late_but_correct() -> None:
    log: list[str] = []
    slow, normal = _client(log, slow=1.0), _client([])
    assert slow.get("/tracks").content == normal.get("/tracks").content
    assert _kinds(log) == ["slow"] and log[0].endswith("detail=0.2s")


def test_truncated_body_is_not_json() -> None:
    log: list[str] = []
    response = _client(log, truncate=1.0).get("/listen_history")
    assert response.status_code == 200
    assert len(response.content) == int(response.headers["content-length"])
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert _kinds(log) == ["truncate"]


def test_bad_records_break_the_contract() -> None:
    log: list[str] = []
    client = _client(log, bad_record=1.0)
    clean = _client([])
    seen: set[str] = set()
    for page in range(1, 4):
        for endpoint in ("/tracks", "/users", "/listen_history"):
            broken = client.get(endpoint, params={"page": page}).json()["items"]
            good = clean.get(endpoint, params={"page": page}).json()["items"]
            differing = [(b, g) for b, g in zip(broken, good, strict=True) if b != g]
            assert len(differing) == 1
    for line in log:
        seen.add(line.rsplit("detail=", 1)[1].split(":")[0])
    assert _kinds(log) == ["bad_record"] * 9
    assert len(seen) >= 2 and seen <= {"wrong_type", "missing_field", "null_field", "unknown_track"}


def test_unknown_track_ids_in_histories() -> None:
    log: list[str] = []
    client = _client(log, bad_record=1.0)
    tracks = {t["id"] for page in range(1, 4) for t in client.get("/tracks", params={"page": page}).json()["items"]}
    found = False
    for page in range(1, 40):
        body = client.get("/listen_history", params={"page": 1 + page % 3, "size": 100}).json()
        if log[-1].endswith("unknown_track:items"):
            found = any(not set(h["items"]) <= tracks for h in body["items"])
            break
    assert found, log


def test_duplicate_across_pages() -> None:
    log: list[str] = []
    client = _client(log, duplicate=1.0)
    first = client.get("/users", params={"page": 1}).json()["items"]
    second = client.get("/users", params={"page": 2}).json()["items"]
    assert second[0] == first[-1] and len(second) == 101
    assert _kinds(log) == ["duplicate"]  # page 1 has no previous page to repeat


def test_shift_inserts_at_the_front_between_reads() -> None:
    log: list[str] = []
    clean = _client([]).get("/tracks", params={"page": 1}).json()
    client = _client(log, shift=1.0)
    shifted = client.get("/tracks", params={"page": 1}).json()
    assert shifted["total"] == clean["total"] + 1
    assert shifted["items"][1:] == clean["items"][:-1]
    assert shifted["items"][0]["id"] not in {t["id"] for t in clean["items"]}
    again = client.get("/tracks", params={"page": 1}).json()
    assert again["total"] == clean["total"] + 2 and again["items"][2] == shifted["items"][1]
    assert _kinds(log) == ["shift", "shift"]


def test_rates_are_seeded_and_independent() -> None:
    def run(seed: int) -> list[str]:
        log: list[str] = []
        settings = Settings(**SMALL, seed=seed, faults=Faults(http_500=0.3, http_429=0.2))
        client = TestClient(create_app(settings, fault_log=log.append))
        for _ in range(3):
            for page in range(1, 21):
                client.get("/tracks", params={"page": page, "size": 15})
        return log

    first = run(1)
    assert first == run(1) and first != run(2)
    kinds = _kinds(first)
    assert 6 <= kinds.count("http_429") <= 20 and 8 <= kinds.count("http_500") <= 30  # of 60 requests
    attempts = {int(line.split("attempt=")[1].split()[0]) for line in first}
    assert attempts >= {1, 2, 3}  # a retried URL gets a fresh draw


def test_faults_spare_docs_and_openapi() -> None:
    log: list[str] = []
    client = _client(log, http_500=1.0)
    assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200
    assert log == []


def test_dropped_connection_and_logged_by_the_server(tmp_path: Path) -> None:
    env = {"MOOVITAMIX_API_RECORDS": "200", "MOOVITAMIX_API_FAULT_DROP_RATE": "1"}
    with running_api(env, tmp_path / "api.log") as (url, output):
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{url}/tracks", timeout=5)
        assert "fault kind=drop path=/tracks query=- attempt=1" in output()
