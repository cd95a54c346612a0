"""The stand-in against each point of /work/shared/api-contract.md."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.generator import GENDERS, GENRES, format_timestamp
from api.settings import SettingsError, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ("/tracks", "/users", "/listen_history")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
DURATION_RE = re.compile(r"^[0-5]\d:[0-5]\d$")

# Field order and JSON types exactly as in the contract's examples.
FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "/tracks": {
        "id": int, "name": str, "artist": str, "songwriters": str, "duration": str,
        "genres": str, "album": str, "created_at": str, "updated_at": str,
    },
    "/users": {
        "id": int, "first_name": str, "last_name": str, "email": str, "gender": str,
        "favorite_genres": str, "created_at": str, "updated_at": str,
    },
    "/listen_history": {"user_id": int, "items": list, "created_at": str, "updated_at": str},
}  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def read_all(client: TestClient, path: str, size: int = 100) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    first = client.get(path, params={"size": size}).json()
    for page in range(1, first["pages"] + 1):
        body = client.get(path, params={"page": page, "size": size}).json()
        assert (body["total"], body["pages"]) == (first["total"], first["pages"])
        items.extend(body["items"])
    return items


@pytest.fixture(scope="module")
def everything(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    return {path: read_all(client, path) for path in ENDPOINTS}


# --- paging -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_defaults_are_page_1_size_100(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["items", "total", "page", "size", "pages"]
    assert (body["total"], body["page"], body["size"], body["pages"]) == (
        1000,
        1,
        100,
        10,
    )
    assert len(body["items"]) == 100


def test_envelope_values_for_an_odd_size(client: TestClient) -> None:
    body = client.get("/users", params={"page": 3, "size": 30}).json()
    assert (body["total"], body["page"], body["size"], body["pages"]) == (
        1000,
        3,
        30,
        34,
    )
    assert len(body["items"]) == 30
    last = client.get("/users", params={"page": 34, "size": 30}).json()
    assert len(last["items"]) == 10  # 1000 - 33 * 30


@pytest.mark.parametrize("path", ENDPOINTS)
def test_page_past_the_end_is_empty_with_same_totals(
    client: TestClient, path: str
) -> None:
    response = client.get(path, params={"page": 11, "size": 100})
    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "total": 1000,
        "page": 11,
        "size": 100,
        "pages": 10,
    }


def _error(
    kind: str, field: str, msg: str, value: str, ctx: dict[str, int] | None
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "type": kind,
        "loc": ["query", field],
        "msg": msg,
        "input": value,
    }
    if ctx is not None:
        detail["ctx"] = ctx
    return {"detail": [detail]}


BAD_QUERIES = [
    (
        "page",
        "0",
        _error(
            "greater_than_equal",
            "page",
            "Input should be greater than or equal to 1",
            "0",
            {"ge": 1},
        ),
    ),
    (
        "size",
        "0",
        _error(
            "greater_than_equal",
            "size",
            "Input should be greater than or equal to 1",
            "0",
            {"ge": 1},
        ),
    ),
    (
        "size",
        "101",
        _error(
            "less_than_equal",
            "size",
            "Input should be less than or equal to 100",
            "101",
            {"le": 100},
        ),
    ),
    (
        "page",
        "abc",
        _error(
            "int_parsing",
            "page",
            "Input should be a valid integer, unable to parse string as an integer",
            "abc",
            None,
        ),
    ),
]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("param", "value", "expected"), BAD_QUERIES)
def test_out_of_range_is_422_with_fastapi_body(
    client: TestClient, path: str, param: str, value: str, expected: dict[str, Any]
) -> None:
    response = client.get(path, params={param: value})
    assert response.status_code == 422
    assert response.json() == expected


@pytest.mark.parametrize("size", [100, 37, 7])
@pytest.mark.parametrize("path", ["/tracks", "/users"])
def test_reading_all_pages_yields_total_unique_ids(
    client: TestClient, path: str, size: int
) -> None:
    ids = [item["id"] for item in read_all(client, path, size=size)]
    assert len(ids) == len(set(ids)) == 1000


def test_items_keep_their_order_between_requests(client: TestClient) -> None:
    first = client.get("/listen_history", params={"page": 4}).content
    client.get("/tracks")  # unrelated traffic must not reshuffle anything
    assert client.get("/listen_history", params={"page": 4}).content == first


# --- records ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_field_name_order_and_json_type(
    everything: dict[str, list[dict[str, Any]]], path: str
) -> None:
    expected = FIELDS[path]
    for record in everything[path]:
        assert list(record) == list(expected)
        for name, kind in expected.items():
            value = record[name]
            # bool is an int subclass in Python but not a JSON integer.
            assert isinstance(value, kind) and not isinstance(value, bool), (
                name,
                value,
            )


@pytest.mark.parametrize("path", ENDPOINTS)
def test_timestamps_are_naive_iso_with_microseconds(
    everything: dict[str, list[dict[str, Any]]], path: str
) -> None:
    for record in everything[path]:
        for name in ("created_at", "updated_at"):
            assert TIMESTAMP_RE.match(record[name]), record[name]
            assert datetime.fromisoformat(record[name]).tzinfo is None


def test_format_timestamp_keeps_zero_microseconds() -> None:
    assert (
        format_timestamp(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000"
    )


def test_track_values(everything: dict[str, list[dict[str, Any]]]) -> None:
    for track in everything["/tracks"]:
        assert 1 <= track["id"] <= 100_000
        assert DURATION_RE.match(track["duration"]), track["duration"]
        assert track["genres"] and " " not in track["genres"]  # one random word


def test_user_values(everything: dict[str, list[dict[str, Any]]]) -> None:
    users = everything["/users"]
    for user in users:
        assert 1 <= user["id"] <= 100_000
        assert user["gender"] in GENDERS
        assert user["favorite_genres"] in GENRES
        assert re.match(r"^[^@\s]+@[^@\s]+\.[a-z]+$", user["email"]), user["email"]
    # Random draws, not a constant: all the listed values actually occur.
    assert {user["gender"] for user in users} == set(GENDERS)
    assert {user["favorite_genres"] for user in users} == set(GENRES)


def test_one_history_per_user_with_5_distinct_existing_tracks(
    everything: dict[str, list[dict[str, Any]]],
) -> None:
    track_ids = {track["id"] for track in everything["/tracks"]}
    user_ids = [user["id"] for user in everything["/users"]]
    histories = everything["/listen_history"]
    assert sorted(history["user_id"] for history in histories) == sorted(user_ids)
    for history in histories:
        assert len(history["items"]) == 5
        assert len(set(history["items"])) == 5
        assert set(history["items"]) <= track_ids
        assert history["updated_at"] >= history["created_at"]  # same fixed-width format


# --- determinism and scale ---------------------------------------------------------


def _all_bytes(app_client: TestClient) -> list[bytes]:
    return [
        app_client.get(path, params={"page": page}).content
        for path in ENDPOINTS
        for page in range(1, 11)
    ]


def test_same_seed_identical_bytes_different_seed_different_data(
    client: TestClient,
) -> None:
    same = _all_bytes(TestClient(create_app(seed=42)))
    assert same == _all_bytes(client)
    other = _all_bytes(TestClient(create_app(seed=43)))
    assert all(a != b for a, b in zip(same, other, strict=True))


def test_large_volume_keeps_ids_unique() -> None:
    # Beyond 100,000 records the shipped 1..100000 id range cannot stay unique.
    big = TestClient(create_app(records=150_000, seed=7))
    body = big.get("/tracks", params={"page": 1500}).json()
    assert (body["total"], body["pages"], len(body["items"])) == (150_000, 1500, 100)
    assert big.get("/tracks", params={"page": 1501}).json()["items"] == []


# --- docs -------------------------------------------------------------------------


def test_root_redirects_to_docs(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


def test_docs_is_swagger_html(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower() and "/openapi.json" in response.text


def test_openapi_lists_the_three_paths_with_paging_params(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == set(ENDPOINTS)
    for path in ENDPOINTS:
        params = {
            p["name"]: p["schema"] for p in spec["paths"][path]["get"]["parameters"]
        }
        assert params["page"]["default"] == 1 and params["page"]["minimum"] == 1
        assert params["size"]["default"] == 100
        assert (params["size"]["minimum"], params["size"]["maximum"]) == (1, 100)


# --- settings and the real process --------------------------------------------------


def test_settings_defaults_and_errors() -> None:
    settings = load_settings({})
    assert (settings.port, settings.records, settings.seed) == (8000, 1000, 42)
    assert load_settings({"MOOVITAMIX_API_PORT": " "}).port == 8000  # empty means unset
    for env in (
        {"MOOVITAMIX_API_PORT": "0"},
        {"MOOVITAMIX_API_RECORDS": "1e3"},
        {"MOOVITAMIX_API_SEED": "x"},
    ):
        with pytest.raises(SettingsError, match=f"^error: {next(iter(env))} must be"):
            load_settings(env)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_api(env_overrides: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOVITAMIX_API_")}
    env.update(env_overrides)
    return subprocess.Popen(
        [sys.executable, "-m", "api"], cwd=REPO_ROOT, env=env, text=True, **kwargs
    )


def test_python_m_api_serves_and_stops_by_pid(tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "api.log").open("w+")
    proc = _run_api(
        {"MOOVITAMIX_API_PORT": str(port), "MOOVITAMIX_API_RECORDS": "50"},
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/tracks", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, f"server never answered; rc={proc.poll()}"
        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["size"], body["pages"], len(body["items"])) == (
            50,
            100,
            1,
            50,
        )
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        log.seek(0)
        output = log.read()
        log.close()
    assert (
        "serving 50 records per endpoint" in output
        and f"http://127.0.0.1:{port}" in output
    ), output


def test_port_in_use_is_one_clear_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = _run_api(
            {"MOOVITAMIX_API_PORT": str(port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert (
        stderr.strip()
        == f"error: port {port} on 127.0.0.1 is already in use (set MOOVITAMIX_API_PORT)"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MOOVITAMIX_API_PORT", "http"),
        ("MOOVITAMIX_API_RECORDS", "-1"),
        ("MOOVITAMIX_API_SEED", "4.2"),
    ],
)
def test_invalid_env_is_one_line_and_exit_2(name: str, value: str) -> None:
    proc = _run_api({name: value}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {name} must be"), (
        stderr
    )
