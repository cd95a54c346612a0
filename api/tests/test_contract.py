"""The stand-in (or any server) against each point of docs/api-contract.md.

By default the checks run in-process against ``create_app()``. Point them at a running
server, the client's real application included, with
``MOOVITAMIX_CONTRACT_URL=https://… pytest api/tests/test_contract.py``
(and ``MOOVITAMIX_CONTRACT_TOKEN`` if it wants a bearer token).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.stand_in.app import create_app
from api.stand_in.pools import GENDERS, GENRES
from api.tests.conftest import ENDPOINTS, Getter, read_all

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
DURATION_RE = re.compile(r"^[0-5]\d:[0-5]\d$")
# Reading every page of a huge deployment would take long: beyond this, a sample of pages.
FULL_READ_LIMIT = 20_000

# Field order and JSON types exactly as in the contract's examples.
FIELDS: dict[str, dict[str, type]] = {
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
def client() -> Iterator[Getter]:
    url = os.environ.get("MOOVITAMIX_CONTRACT_URL")
    if url:
        token = os.environ.get("MOOVITAMIX_CONTRACT_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as remote:
            yield remote
    else:
        with TestClient(create_app()) as local:
            yield local


def _records(client: Getter, path: str) -> list[dict[str, Any]]:
    total = client.get(path).json()["total"]
    if total <= FULL_READ_LIMIT:
        return read_all(client, path)
    pages = (total + 99) // 100
    sample = (1, 2, pages // 2, pages)
    return [item for page in sample for item in client.get(path, params={"page": page}).json()["items"]]


@pytest.fixture(scope="module")
def everything(client: Getter) -> dict[str, list[dict[str, Any]]]:
    return {path: _records(client, path) for path in ENDPOINTS}


# --- paging -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_defaults_are_page_1_size_100(client: Getter, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["items", "total", "page", "size", "pages"]
    total = body["total"]
    assert isinstance(total, int) and total > 0
    assert (body["page"], body["size"], body["pages"]) == (1, 100, (total + 99) // 100)
    assert len(body["items"]) == min(100, total)


def test_in_process_default_is_1000_records_per_endpoint() -> None:
    with TestClient(create_app()) as local:
        assert [local.get(path).json()["total"] for path in ENDPOINTS] == [1000, 1000, 1000]


def test_envelope_values_for_an_odd_size(client: Getter) -> None:
    total = client.get("/users").json()["total"]
    pages = -(-total // 30)
    body = client.get("/users", params={"page": 2, "size": 30}).json()
    assert (body["total"], body["page"], body["size"], body["pages"]) == (total, 2, 30, pages)
    assert len(body["items"]) == min(30, total - 30)
    last = client.get("/users", params={"page": pages, "size": 30}).json()
    assert len(last["items"]) == total - (pages - 1) * 30


@pytest.mark.parametrize("path", ENDPOINTS)
def test_page_past_the_end_is_empty_with_same_totals(client: Getter, path: str) -> None:
    total = client.get(path).json()["total"]
    pages = -(-total // 100)
    response = client.get(path, params={"page": pages + 1, "size": 100})
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": total, "page": pages + 1, "size": 100, "pages": pages}


def _error(kind: str, field: str, msg: str, value: str, ctx: dict[str, int] | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"type": kind, "loc": ["query", field], "msg": msg, "input": value}
    if ctx is not None:
        detail["ctx"] = ctx
    return {"detail": [detail]}


GE_1 = "Input should be greater than or equal to 1"
NOT_INT = "Input should be a valid integer, unable to parse string as an integer"
BAD_QUERIES = [
    ("page", "0", _error("greater_than_equal", "page", GE_1, "0", {"ge": 1})),
    ("page", "-3", _error("greater_than_equal", "page", GE_1, "-3", {"ge": 1})),
    ("size", "0", _error("greater_than_equal", "size", GE_1, "0", {"ge": 1})),
    ("size", "101", _error("less_than_equal", "size", "Input should be less than or equal to 100", "101", {"le": 100})),
    ("page", "abc", _error("int_parsing", "page", NOT_INT, "abc", None)),
    ("size", "1.5", _error("int_parsing", "size", NOT_INT, "1.5", None)),
]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(("param", "value", "expected"), BAD_QUERIES)
def test_out_of_range_is_422_with_fastapi_body(
    client: Getter, path: str, param: str, value: str, expected: dict[str, Any]
) -> None:
    response = client.get(path, params={param: value})
    assert response.status_code == 422
    assert response.json() == expected


@pytest.mark.parametrize("size", [100, 37, 7])
def test_reading_all_pages_yields_total_unique_ids(client: Getter, size: int) -> None:
    total = client.get("/tracks").json()["total"]
    if total / size > 2_000:
        pytest.skip("too many pages to read at this size")
    ids = [item["id"] for item in read_all(client, "/tracks", size=size)]
    assert len(ids) == len(set(ids)) == total


def test_items_keep_their_order_between_requests(client: Getter) -> None:
    first = client.get("/listen_history", params={"page": 2}).content
    client.get("/tracks")  # unrelated traffic must not reshuffle anything
    assert client.get("/listen_history", params={"page": 2}).content == first


def test_ids_unique_per_endpoint_and_one_history_per_user(everything: dict[str, list[dict[str, Any]]]) -> None:
    for path, key in (("/tracks", "id"), ("/users", "id"), ("/listen_history", "user_id")):
        keys = [record[key] for record in everything[path]]
        assert len(keys) == len(set(keys)), path


# --- records ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_field_name_order_and_json_type(everything: dict[str, list[dict[str, Any]]], path: str) -> None:
    expected = FIELDS[path]
    for record in everything[path]:
        assert list(record) == list(expected)
        for name, kind in expected.items():
            value = record[name]
            if path == "/listen_history" and name in ("user_id", "items") and value is None:
                continue  # the schema allows these two to be null
            # bool is an int subclass in Python but not a JSON integer.
            assert isinstance(value, kind) and not isinstance(value, bool), (name, value)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_timestamps_are_naive_iso_with_microseconds(everything: dict[str, list[dict[str, Any]]], path: str) -> None:
    for record in everything[path]:
        for name in ("created_at", "updated_at"):
            assert TIMESTAMP_RE.match(record[name]), record[name]
            assert datetime.fromisoformat(record[name]).tzinfo is None


def test_track_values(everything: dict[str, list[dict[str, Any]]]) -> None:
    for track in everything["/tracks"]:
        assert track["id"] >= 1
        assert DURATION_RE.match(track["duration"]), track["duration"]
        assert track["genres"]


def test_user_values(everything: dict[str, list[dict[str, Any]]]) -> None:
    for user in everything["/users"]:
        assert user["id"] >= 1
        assert user["gender"] in GENDERS
        assert user["favorite_genres"] in GENRES
        assert re.match(r"^[^@\s]+@[^@\s]+\.[a-z]+$", user["email"]), user["email"]


def test_histories(everything: dict[str, list[dict[str, Any]]]) -> None:
    track_ids = {track["id"] for track in everything["/tracks"]}
    complete = len(everything["/tracks"]) == len(set(track_ids)) and len(track_ids) <= FULL_READ_LIMIT
    for history in everything["/listen_history"]:
        assert history["updated_at"] >= history["created_at"]  # same fixed-width format
        assert all(isinstance(item, int) and not isinstance(item, bool) for item in history["items"] or [])
        if complete:
            assert set(history["items"] or []) <= track_ids


# --- docs -------------------------------------------------------------------------


def test_root_redirects_to_docs(client: Getter) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


def test_docs_is_swagger_html(client: Getter) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower() and "/openapi.json" in response.text


def test_openapi_lists_the_three_paths_with_paging_params(client: Getter) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= set(ENDPOINTS)
    for path in ENDPOINTS:
        params = {p["name"]: p["schema"] for p in spec["paths"][path]["get"]["parameters"]}
        assert params["page"]["default"] == 1 and params["page"]["minimum"] == 1
        assert params["size"]["default"] == 100
        assert (params["size"]["minimum"], params["size"]["maximum"]) == (1, 100)
        item = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page_schema = spec["components"]["schemas"][item.rsplit("/", 1)[1]]
        assert set(page_schema["required"]) >= {"items", "total", "page", "size", "pages"}
