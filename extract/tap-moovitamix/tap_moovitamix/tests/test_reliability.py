"""Settings, HTTP faults, pagination integrity, incremental state and rejected records.

Every test runs the tap against requests-mock; waits between retries are recorded by
replacing `client.pause`, so no test sleeps.
"""

from __future__ import annotations

import json
import re
import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests
import requests_mock
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_moovitamix import client
from tap_moovitamix.client import (
    RetriesExhaustedError,
    SourceChangedError,
    TooManyRejectsError,
    canonical_timestamp,
)
from tap_moovitamix.pagination import Page, walk_pages
from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import (
    API_URL,
    make_listen_history,
    make_tracks,
    make_users,
    serve,
)

FAST = {"backoff_base_seconds": 0.001, "backoff_max_seconds": 0.01}


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every wait between attempts instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(client, "pause", lambda seconds, _stop: recorded.append(seconds))
    return recorded


def make_tap(state: dict | None = None, **config: t.Any) -> TapMoovitamix:
    return TapMoovitamix(
        config={"api_url": API_URL, **FAST, **config}, state=state, parse_env_config=False
    )


def run(tap: TapMoovitamix, capsys: pytest.CaptureFixture[str]) -> list[dict[str, t.Any]]:
    """Sync every stream; return the Singer messages written."""
    capsys.readouterr()
    tap.sync_all()
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def records_of(messages: list[dict[str, t.Any]], stream: str) -> list[dict[str, t.Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def last_state(messages: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    return [m["value"] for m in messages if m["type"] == "STATE"][-1]


def sync(tap: TapMoovitamix, stream: str) -> list[dict[str, t.Any]]:
    return list(tap.streams[stream].get_records(context=None))


def serve_all(mocker: requests_mock.Mocker, count: int = 5, **changes: t.Any) -> None:
    serve(mocker, "/tracks", changes.get("tracks", make_tracks(count)))
    serve(mocker, "/users", changes.get("users", make_users(count)))
    serve(mocker, "/listen_history", changes.get("listen_history", make_listen_history(count)))


def page_json(items: list[dict], *, total: int, pages: int, page: int = 1) -> dict[str, t.Any]:
    return {"items": items, "total": total, "page": page, "size": 100, "pages": pages}


# --- 1. settings ----------------------------------------------------------------------

SETTINGS = {
    "api_url": "http://127.0.0.1:8000",
    "page_size": 100,
    "start_date": None,
    "auth_token": None,
    "request_timeout": 30,
    "max_retries": 5,
    "backoff_base_seconds": 1.0,
    "backoff_max_seconds": 60.0,
    "user_agent": "tap-moovitamix/0.1.0",
    "max_rejected_ratio": 0.01,
    "max_concurrent_requests": 4,
    "max_shift_rereads": 1,
    "progress_every_pages": 100,
    "run_id": None,
}


def test_every_setting_has_its_default():
    config = TapMoovitamix(config={}, parse_env_config=False).config
    for name, default in SETTINGS.items():
        assert config.get(name) == default, name


def test_every_setting_is_documented_in_the_readme_with_its_env_var():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in SETTINGS:
        row = re.search(rf"^\| `{name}` \| `TAP_MOOVITAMIX_{name.upper()}` \|", readme, re.M)
        assert row, f"{name} missing from the README's settings table"


def test_auth_token_is_secret():
    schema = TapMoovitamix.config_jsonschema["properties"]["auth_token"]
    assert schema.get("secret") is True


def test_settings_come_from_env_vars(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TAP_MOOVITAMIX_PAGE_SIZE", "7")
    monkeypatch.setenv("TAP_MOOVITAMIX_MAX_REJECTED_RATIO", "0.5")
    monkeypatch.setenv("TAP_MOOVITAMIX_MAX_SHIFT_REREADS", "3")
    config = TapMoovitamix(config={}, parse_env_config=True).config
    assert config["page_size"] == 7
    assert config["max_rejected_ratio"] == 0.5
    assert config["max_shift_rereads"] == 3


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("page_size", 0, "page_size (env TAP_MOOVITAMIX_PAGE_SIZE): 0 is less than"),
        ("page_size", 101, "101 is greater than the maximum of 100"),
        ("api_url", "ftp://x", "'ftp://x' is not an http(s) URL"),
        ("api_url", "localhost:8000", "is not an http(s) URL"),
        ("start_date", "yesterday", "'yesterday' is not an ISO 8601 date"),
        ("request_timeout", 0, "request_timeout (env TAP_MOOVITAMIX_REQUEST_TIMEOUT)"),
        ("max_retries", -1, "max_retries"),
        ("max_rejected_ratio", 1.5, "max_rejected_ratio"),
        ("max_concurrent_requests", 0, "max_concurrent_requests"),
        ("user_agent", "", "user_agent"),
        ("max_shift_rereads", -1, "max_shift_rereads (env TAP_MOOVITAMIX_MAX_SHIFT_REREADS)"),
        ("progress_every_pages", 0, "progress_every_pages"),
    ],
)
def test_an_invalid_setting_fails_at_start_with_one_message(
    setting: str, value: t.Any, expected: str
):
    with pytest.raises(ConfigValidationError) as raised:
        TapMoovitamix(config={setting: value}, parse_env_config=False)
    assert len(raised.value.errors) == 1
    assert raised.value.errors[0].startswith("invalid tap-moovitamix settings: ")
    assert expected in raised.value.errors[0]


def test_empty_optional_settings_count_as_unset():
    tap = TapMoovitamix(
        config={"start_date": "", "auth_token": "", "run_id": ""}, parse_env_config=False
    )
    assert len(tap.run_id) == 36  # a fresh UUID
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(2))
        tap_config = {"api_url": API_URL, "start_date": "", "auth_token": ""}
        records = sync(TapMoovitamix(config=tap_config, parse_env_config=False), "tracks")
        assert "Authorization" not in mocker.request_history[0].headers
    assert len(records) == 2


def test_several_invalid_settings_are_one_message():
    with pytest.raises(ConfigValidationError) as raised:
        TapMoovitamix(config={"page_size": 0, "start_date": "x"}, parse_env_config=False)
    [message] = raised.value.errors
    assert "page_size" in message
    assert "start_date" in message


def test_headers_carry_user_agent_and_bearer_token():
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(1))
        sync(make_tap(auth_token="s3cret", user_agent="moo/1"), "tracks")
        headers = mocker.request_history[0].headers
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["User-Agent"] == "moo/1"


def test_no_authorization_header_without_a_token():
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(1))
        sync(make_tap(), "tracks")
        assert "Authorization" not in mocker.request_history[0].headers


# --- 4. HTTP faults ---------------------------------------------------------------------


def ok(records: list[dict]) -> dict[str, t.Any]:
    return {"json": page_json(records, total=len(records), pages=1), "status_code": 200}


@pytest.mark.parametrize(
    "fault",
    [
        {"status_code": 500},
        {"status_code": 502},
        {"status_code": 503},
        {"exc": requests.exceptions.ConnectTimeout},
        {"exc": requests.exceptions.ReadTimeout},
        {"exc": requests.exceptions.ConnectionError},
        {"exc": requests.exceptions.ChunkedEncodingError},
        {"text": '{"items": [{"id": 1', "status_code": 200},  # truncated JSON
        {"text": "<html>oops</html>", "status_code": 200},
        {"json": {"detail": "not an envelope"}, "status_code": 200},
    ],
    ids=[
        "500",
        "502",
        "503",
        "connect-timeout",
        "read-timeout",
        "dropped",
        "chunked",
        "truncated-json",
        "not-json",
        "not-envelope",
    ],
)
def test_transient_faults_are_retried(fault: dict[str, t.Any], waits: list[float]):
    tracks = make_tracks(3)
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", [fault, fault, ok(tracks)])
        assert sync(make_tap(), "tracks") == tracks
        assert mocker.call_count == 3
    assert len(waits) == 2


def test_backoff_is_exponential_with_jitter_and_capped(waits: list[float]):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=503)
        with pytest.raises(RetriesExhaustedError):
            sync(make_tap(max_retries=6, backoff_base_seconds=1, backoff_max_seconds=8), "tracks")
    # Delays 1, 2, 4, 8, 8, 8: each wait is in [delay/2, delay].
    for wait, delay in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        assert delay / 2 <= wait <= delay


def test_retry_after_is_honoured_on_429(waits: list[float]):
    tracks = make_tracks(2)
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks",
            [
                {"status_code": 429, "headers": {"Retry-After": "7"}},
                {"status_code": 429, "headers": {"Retry-After": "3"}},
                ok(tracks),
            ],
        )
        assert sync(make_tap(backoff_max_seconds=60), "tracks") == tracks
    assert waits == [7.0, 3.0]


def test_retry_after_as_an_http_date_is_honoured(waits: list[float]):
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks",
            [{"status_code": 429, "headers": {"Retry-After": when}}, ok(make_tracks(1))],
        )
        sync(make_tap(backoff_max_seconds=60), "tracks")
    assert 25 <= waits[0] <= 31


def test_retry_after_is_capped_by_backoff_max_seconds(waits: list[float]):
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks",
            [{"status_code": 429, "headers": {"Retry-After": "86400"}}, ok(make_tracks(1))],
        )
        sync(make_tap(backoff_max_seconds=5), "tracks")
    assert waits == [5.0]


def test_giving_up_names_the_url_the_status_and_the_attempts():
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=503)
        with pytest.raises(RetriesExhaustedError) as raised:
            sync(make_tap(max_retries=3), "tracks")
        assert mocker.call_count == 4
    message = str(raised.value)
    assert f"{API_URL}/tracks?page=1&size=100" in message
    assert "after 4 attempts" in message
    assert "last status: 503" in message


def test_giving_up_on_timeouts_says_there_was_no_response():
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", exc=requests.exceptions.ReadTimeout)
        with pytest.raises(RetriesExhaustedError, match="last status: no response"):
            sync(make_tap(max_retries=1), "tracks")


def test_401_is_fatal_at_once_with_a_clear_message(waits: list[float]):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=401)
        with pytest.raises(FatalAPIError, match="bad or missing token") as raised:
            sync(make_tap(), "tracks")
        assert mocker.call_count == 1
    assert not isinstance(raised.value, RetriesExhaustedError)
    assert waits == []


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_4xx_are_fatal_at_once(status: int):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=status, text="nope")
        with pytest.raises(FatalAPIError, match=f"HTTP {status}"):
            sync(make_tap(), "tracks")
        assert mocker.call_count == 1


def test_a_failing_later_page_fails_the_stream_after_retries():
    tracks = make_tracks(300)

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:
        page = int(request.qs["page"][0])
        if page == 3:
            context.status_code = 500
            return {}
        return page_json(tracks[(page - 1) * 100 : page * 100], total=300, pages=3, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        with pytest.raises(RetriesExhaustedError, match="page=3"):
            sync(make_tap(max_retries=2), "tracks")


# --- 2. pagination integrity ----------------------------------------------------------


def shifting(records: list[dict], *, shifts: int) -> t.Callable[..., dict[str, t.Any]]:
    """Serve `records`; insert a record at the front after page 1, `shifts` times."""
    state = {"data": list(records), "left": shifts, "next_id": 90000}

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs["page"][0])
        data = state["data"]
        body = page_json(
            data[(page - 1) * 100 : page * 100],
            total=len(data),
            pages=-(-len(data) // 100),
            page=page,
        )
        if page == 1 and state["left"]:
            state["left"] -= 1
            new = {**data[0], "id": state["next_id"]}
            state["next_id"] += 1
            state["data"] = [new, *data]
        return body

    return page_of


def test_a_source_that_shifted_once_is_read_again_and_loaded_whole():
    tracks = make_tracks(250)
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=shifting(tracks, shifts=1))
        records = sync(make_tap(max_concurrent_requests=1), "tracks")
    ids = {r["id"] for r in records}
    # Every record of the final source was read in the second, complete read.
    assert ids == {90000} | {t["id"] for t in tracks}


def test_a_source_that_keeps_shifting_fails_the_stream_clearly():
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=shifting(make_tracks(250), shifts=5))
        with pytest.raises(
            SourceChangedError,
            match=r"changed while being read, 2 reads in a row \(max_shift_rereads=1\)",
        ):
            sync(make_tap(max_concurrent_requests=1), "tracks")


@pytest.mark.parametrize(("rereads", "shifts"), [(0, 1), (2, 3), (3, 4)])
def test_max_shift_rereads_bounds_the_reads_of_a_shifting_source(rereads: int, shifts: int):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=shifting(make_tracks(250), shifts=shifts))
        with pytest.raises(SourceChangedError, match=f"{rereads + 1} reads in a row"):
            sync(make_tap(max_concurrent_requests=1, max_shift_rereads=rereads), "tracks")
        # One read = page 1 + page 2 (where the shift shows); no read beyond the limit.
        assert len(mocker.request_history) == 2 * (rereads + 1)


@pytest.mark.parametrize(("rereads", "shifts"), [(0, 0), (2, 2), (3, 3)])
def test_max_shift_rereads_lets_a_source_settle(rereads: int, shifts: int):
    tracks = make_tracks(250)
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=shifting(tracks, shifts=shifts))
        records = sync(make_tap(max_concurrent_requests=1, max_shift_rereads=rereads), "tracks")
    inserted = set(range(90000, 90000 + shifts))
    assert {r["id"] for r in records} == inserted | {t["id"] for t in tracks}


def test_duplicates_across_pages_are_a_shift():
    tracks = make_tracks(200)
    duplicated = [*tracks[:100], tracks[99], *tracks[101:200]]  # 101 missing, 100 twice
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", duplicated)
        # The repeat is skipped, which leaves the read one record short of `total`.
        with pytest.raises(SourceChangedError, match="read 199 records"):
            sync(make_tap(), "tracks")
        # Read once, then once more from page 1.
        assert [int(r.qs["page"][0]) for r in mocker.request_history] == [1, 2, 1, 2]


def test_a_record_repeated_on_the_next_page_is_loaded_once():
    # The stand-in's "duplicate" fault: page 2 starts with page 1's last record again
    # and holds size + 1 records; nothing is missing, so no re-read is needed.
    tracks = make_tracks(200)

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs["page"][0])
        items = tracks[(page - 1) * 100 : page * 100]
        if page == 2:
            items = [tracks[99], *items]
        return page_json(items, total=200, pages=2, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        records = sync(make_tap(), "tracks")
        assert [int(r.qs["page"][0]) for r in mocker.request_history] == [1, 2]
    assert [r["id"] for r in records] == [t["id"] for t in tracks]


def test_the_same_id_with_another_content_is_a_shift():
    tracks = make_tracks(200)
    changed = [*tracks[:100], {**tracks[99], "name": "renamed"}, *tracks[100:200]]
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", changed)
        with pytest.raises(SourceChangedError, match="read twice"):
            sync(make_tap(), "tracks")


def test_duplicates_that_go_away_on_the_second_read_are_fine():
    tracks = make_tracks(200)
    duplicated = [*tracks[:100], tracks[99], *tracks[101:200]]
    calls = {"n": 0}

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        calls["n"] += 1
        page = int(request.qs["page"][0])
        data = duplicated if calls["n"] <= 2 else tracks
        return page_json(data[(page - 1) * 100 : page * 100], total=200, pages=2, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        records = sync(make_tap(max_concurrent_requests=1), "tracks")
    assert {r["id"] for r in records} == {t["id"] for t in tracks}


def test_fewer_records_than_total_is_a_hole():
    tracks = make_tracks(250)

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs["page"][0])
        items = tracks[(page - 1) * 100 : page * 100]
        if page == 2:
            items = items[:-1]  # one record lost in transit
        return page_json(items, total=250, pages=3, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        with pytest.raises(SourceChangedError, match="read 249 records in 3 pages but"):
            sync(make_tap(), "tracks")


def test_an_early_empty_page_is_a_hole():
    tracks = make_tracks(300)

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs["page"][0])
        items = [] if page == 2 else tracks[(page - 1) * 100 : page * 100]
        return page_json(items, total=300, pages=3, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        with pytest.raises(SourceChangedError, match="read 100 records"):
            sync(make_tap(), "tracks")


# --- 6. speed: concurrent pages, in order, bounded ------------------------------------


def test_pages_are_fetched_concurrently_but_yielded_in_page_order():
    # requests-mock serialises requests, so concurrency is measured on the walk itself.
    in_flight = {"now": 0, "max": 0}
    lock = threading.Lock()

    def fetch(number: int, stop: threading.Event) -> Page:  # noqa: ARG001
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        # Later pages answer faster, so completion order differs from page order.
        time.sleep(0.002 * (21 - number))
        with lock:
            in_flight["now"] -= 1
        return Page(number=number, items=[number], total=20, pages=20)

    pages = list(walk_pages(fetch, page_size=1, max_concurrent=4))
    assert [p.number for p in pages] == list(range(1, 21))
    assert in_flight["max"] == 4


def test_records_come_out_in_page_order_through_the_stream():
    tracks = make_tracks(2000)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        records = sync(make_tap(max_concurrent_requests=8), "tracks")
    assert [r["id"] for r in records] == [t["id"] for t in tracks]


def test_an_early_stop_leaves_no_request_behind():
    started: list[int] = []

    def fetch(number: int, stop: threading.Event) -> Page:  # noqa: ARG001
        started.append(number)
        if number == 3:
            return Page(number=number, items=[], total=None, pages=50)
        time.sleep(0.01)
        return Page(number=number, items=[number], total=None, pages=50)

    pages = list(walk_pages(fetch, page_size=1, max_concurrent=4))
    assert [p.number for p in pages] == [1, 2, 3]
    count = len(started)
    time.sleep(0.05)
    assert len(started) == count <= 1 + 4 + 1


def test_the_window_bounds_pages_held_in_memory():
    tracks = make_tracks(2000)
    served: list[int] = []

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs["page"][0])
        served.append(page)
        return page_json(tracks[(page - 1) * 100 : page * 100], total=2000, pages=20, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        stream = make_tap(max_concurrent_requests=3).streams["tracks"]
        records = iter(stream.get_records(context=None))
        next(records)  # the consumer is busy with page 1's first record
        time.sleep(0.05)
        # Page 1 plus a window of 3 pages ahead at most, whatever the endpoint's size.
        assert len(served) <= 1 + 3
        rest = list(records)
    assert len(rest) == 1999


def test_one_concurrent_request_reads_pages_one_by_one():
    tracks = make_tracks(300)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        records = sync(make_tap(max_concurrent_requests=1), "tracks")
        assert [int(r.qs["page"][0]) for r in mocker.request_history] == [1, 2, 3]
    assert records == tracks


# --- 3. incremental -----------------------------------------------------------------


def stamped(tracks: list[dict], stamps: list[str]) -> list[dict]:
    return [{**track, "updated_at": stamp} for track, stamp in zip(tracks, stamps, strict=True)]


STAMPS = [
    "2025-01-01T00:00:00.000000",
    "2025-01-03T00:00:00.000000",
    "2025-01-02T00:00:00.000000",
    "2025-01-05T00:00:00.000000",
    "2025-01-04T00:00:00.000000",
]


def test_first_run_reads_everything_and_bookmarks_the_max(capsys: pytest.CaptureFixture[str]):
    tracks = stamped(make_tracks(5), STAMPS)
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=tracks)
        messages = run(make_tap(), capsys)
    assert records_of(messages, "tracks") == tracks
    bookmark = last_state(messages)["bookmarks"]["tracks"]
    assert bookmark["replication_key"] == "updated_at"
    # Unsorted records: the maximum, not the last one, in one canonical format.
    assert bookmark["replication_key_value"] == "2025-01-05T00:00:00.000000+00:00"
    assert "progress_markers" not in bookmark


def test_records_not_newer_than_the_bookmark_are_dropped(capsys: pytest.CaptureFixture[str]):
    tracks = stamped(make_tracks(5), STAMPS)
    state = {
        "bookmarks": {
            "tracks": {
                "replication_key": "updated_at",
                # Equal to record 2's timestamp: that one was loaded already.
                "replication_key_value": "2025-01-03T00:00:00.000000+00:00",
                "source": API_URL,
            }
        }
    }
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=tracks)
        messages = run(make_tap(state=state), capsys)
    assert [r["updated_at"] for r in records_of(messages, "tracks")] == [STAMPS[3], STAMPS[4]]


def test_rerunning_with_the_final_state_loads_nothing(capsys: pytest.CaptureFixture[str]):
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=stamped(make_tracks(5), STAMPS))
        state = last_state(run(make_tap(), capsys))
        again = run(make_tap(state=state), capsys)
    for stream in ("tracks", "users", "listen_history", "rejected_records"):
        assert records_of(again, stream) == []
    assert last_state(again)["bookmarks"]["tracks"] == state["bookmarks"]["tracks"]


def test_start_date_is_honoured_inclusively_without_state(capsys: pytest.CaptureFixture[str]):
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=stamped(make_tracks(5), STAMPS))
        messages = run(make_tap(start_date="2025-01-03"), capsys)
    assert [r["updated_at"] for r in records_of(messages, "tracks")] == STAMPS[1:2] + STAMPS[3:]


def test_bookmark_older_than_start_date_yields_to_start_date(
    capsys: pytest.CaptureFixture[str],
):
    state = {
        "bookmarks": {
            "tracks": {"replication_key": "updated_at", "replication_key_value": "2020-01-01"}
        }
    }
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=stamped(make_tracks(5), STAMPS))
        messages = run(make_tap(state=state, start_date="2025-01-04T00:00:00Z"), capsys)
    assert [r["updated_at"] for r in records_of(messages, "tracks")] == [STAMPS[3], STAMPS[4]]


def test_future_timestamps_are_not_capped_at_the_tap_clock(capsys: pytest.CaptureFixture[str]):
    future = [*STAMPS[:4], "2999-01-01T00:00:00.000000"]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=stamped(make_tracks(5), future))
        messages = run(make_tap(), capsys)
    bookmark = last_state(messages)["bookmarks"]["tracks"]["replication_key_value"]
    assert bookmark == "2999-01-01T00:00:00.000000+00:00"


def test_the_bookmark_does_not_advance_when_the_stream_fails(
    capsys: pytest.CaptureFixture[str],
):
    tracks = stamped(make_tracks(5), STAMPS) + make_tracks(200)[5:]
    old = {"replication_key": "updated_at", "replication_key_value": "2024-01-01T00:00:00+00:00"}

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:
        page = int(request.qs["page"][0])
        if page == 2:
            context.status_code = 503
            return {}
        return page_json(tracks[(page - 1) * 100 : page * 100], total=200, pages=2, page=page)

    tap = make_tap(state={"bookmarks": {"tracks": dict(old)}}, max_retries=1)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/users", make_users(1))
        serve(mocker, "/listen_history", make_listen_history(1))
        mocker.get(f"{API_URL}/tracks", json=page_of)
        capsys.readouterr()
        with pytest.raises(RetriesExhaustedError):
            tap.sync_all()
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert records_of(messages, "tracks")  # page 1 was sent...
    for state in [m["value"] for m in messages if m["type"] == "STATE"]:
        tracks_state = state["bookmarks"].get("tracks", {})
        # ...but no STATE ever carried a bookmark past the old one.
        assert tracks_state.get("replication_key_value") in (None, old["replication_key_value"])
    # What the next run sees after the SDK resets progress markers: the old bookmark.
    after = make_tap(state=[m["value"] for m in messages if m["type"] == "STATE"][-1])
    assert after.streams["tracks"]._bookmark(None).isoformat() == "2024-01-01T00:00:00+00:00"


def test_full_refresh_without_state_reads_everything_again(capsys: pytest.CaptureFixture[str]):
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=stamped(make_tracks(5), STAMPS))
        run(make_tap(), capsys)
        again = run(make_tap(state=None), capsys)
    assert len(records_of(again, "tracks")) == 5


def test_canonical_timestamp_orders_like_time():
    assert canonical_timestamp("2025-01-01T00:00:00") == "2025-01-01T00:00:00.000000+00:00"
    assert canonical_timestamp("2025-01-01T02:00:00+02:00") == "2025-01-01T00:00:00.000000+00:00"


# --- identity: a redrawn universe is read with the bookmark ignored ---------------------


def test_redrawn_ids_make_the_next_run_ignore_the_bookmark(capsys: pytest.CaptureFixture[str]):
    day0 = stamped(make_tracks(5), STAMPS)
    # The application restarted: same ids, other created_at, older updated_at values.
    redrawn = [
        {**track, "created_at": "2025-12-01T00:00:00.000000", "updated_at": STAMPS[0]}
        for track in day0
    ]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day0)
        state = last_state(run(make_tap(), capsys))
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=redrawn)
        messages = run(make_tap(state=state), capsys)
    # Without the identity check all five would be dropped as "not newer".
    assert records_of(messages, "tracks") == redrawn


def test_vanished_ids_make_the_next_run_ignore_the_bookmark(capsys: pytest.CaptureFixture[str]):
    day0 = stamped(make_tracks(5), STAMPS)
    other = [{**track, "id": track["id"] + 50000, "updated_at": STAMPS[0]} for track in day0]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day0)
        state = last_state(run(make_tap(), capsys))
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=other)
        messages = run(make_tap(state=state), capsys)
    assert records_of(messages, "tracks") == other


def test_the_same_universe_keeps_the_bookmark(capsys: pytest.CaptureFixture[str]):
    day0 = stamped(make_tracks(5), STAMPS)
    day1 = [*day0, {**make_tracks(6)[5], "updated_at": "2025-02-01T00:00:00"}]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day0)
        state = last_state(run(make_tap(), capsys))
    assert state["bookmarks"]["tracks"]["identity_sample"]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day1)
        messages = run(make_tap(state=state), capsys)
    assert records_of(messages, "tracks") == [day1[5]]


def test_a_bookmark_of_another_source_is_not_used(capsys: pytest.CaptureFixture[str]):
    # The same ids and created_at at another URL (another stand-in of the same seed): the
    # identity sample cannot tell them apart, the source recorded with the bookmark can.
    day0 = stamped(make_tracks(5), STAMPS)
    older = [{**track, "updated_at": STAMPS[0]} for track in day0]
    other_url = "http://other.moovitamix.test"
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day0)
        state = last_state(run(make_tap(), capsys))
    assert state["bookmarks"]["tracks"]["source"] == API_URL
    with requests_mock.Mocker() as mocker:
        for path, records in (("/tracks", older), ("/users", make_users(5)),
                              ("/listen_history", make_listen_history(5))):
            serve(mocker, path, records, api_url=other_url)
        messages = run(make_tap(state=state, api_url=other_url), capsys)
    assert records_of(messages, "tracks") == older
    assert last_state(messages)["bookmarks"]["tracks"]["source"] == other_url


def test_a_bookmark_that_names_no_source_is_not_used(capsys: pytest.CaptureFixture[str]):
    day0 = stamped(make_tracks(5), STAMPS)
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day0)
        state = last_state(run(make_tap(), capsys))
        for stream_state in state["bookmarks"].values():
            stream_state.pop("source", None)
        messages = run(make_tap(state=state), capsys)
    assert records_of(messages, "tracks") == day0


# --- 5. bad records -----------------------------------------------------------------


def bad_tracks() -> list[dict[str, t.Any]]:
    tracks = make_tracks(300)
    tracks[10]["id"] = "ten"  # wrong type
    del tracks[20]["name"]  # missing field
    tracks[30]["artist"] = None  # null
    return tracks


def test_bad_records_go_to_rejected_records_not_to_their_stream(
    capsys: pytest.CaptureFixture[str],
):
    tracks = bad_tracks()
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=tracks)
        messages = run(make_tap(max_rejected_ratio=0.05, run_id="run-1"), capsys)
    loaded = records_of(messages, "tracks")
    assert len(loaded) == 297
    assert {r["id"] for r in loaded}.isdisjoint({"ten", tracks[20]["id"], tracks[30]["id"]})
    rejects = records_of(messages, "rejected_records")
    assert [json.loads(r["payload"]) for r in rejects] == [tracks[10], tracks[20], tracks[30]]
    assert {r["stream"] for r in rejects} == {"tracks"}
    assert {r["run_id"] for r in rejects} == {"run-1"}
    assert rejects[0]["record_key"] == '"ten"'
    assert "id: 'ten' is not of type 'integer'" in rejects[0]["reason"]
    assert "'name' is a required property" in rejects[1]["reason"]
    assert "artist: None is not of type 'string'" in rejects[2]["reason"]
    assert all(r["rejected_at"] and len(r["payload_sha256"]) == 64 for r in rejects)
    # The SCHEMA of rejected_records precedes its first record.
    kinds = [(m["type"], m.get("stream")) for m in messages]
    assert kinds.index(("SCHEMA", "rejected_records")) < kinds.index(("RECORD", "rejected_records"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", "99:99"),
        ("updated_at", "not a date"),
        ("created_at", None),
    ],
)
def test_contract_formats_are_checked(field: str, value: t.Any):
    tracks = make_tracks(1)
    tracks[0][field] = value
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        with pytest.raises(TooManyRejectsError):
            sync(make_tap(), "tracks")


def test_too_many_rejects_fail_the_run_and_keep_the_bookmark(
    capsys: pytest.CaptureFixture[str],
):
    tracks = bad_tracks()  # 3 of 300 = 1% > 0.5%
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=tracks)
        capsys.readouterr()
        with pytest.raises(TooManyRejectsError, match=r"3 of 300 records broke the schema"):
            make_tap(max_rejected_ratio=0.005).sync_all()
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    # The rejects are on their way to the warehouse even though the run fails.
    assert len(records_of(messages, "rejected_records")) == 3
    for message in messages:
        if message["type"] == "STATE":
            assert "replication_key_value" not in message["value"]["bookmarks"].get("tracks", {})


def test_rejects_at_the_ratio_do_not_fail_the_run(capsys: pytest.CaptureFixture[str]):
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=bad_tracks())  # exactly 1%
        messages = run(make_tap(), capsys)
    assert len(records_of(messages, "tracks")) == 297


def test_unknown_track_ids_in_histories_are_not_rejected(capsys: pytest.CaptureFixture[str]):
    histories = make_listen_history(3)
    histories[0]["items"] = [987654321]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, listen_history=histories)
        messages = run(make_tap(), capsys)
    assert records_of(messages, "listen_history") == histories
    assert records_of(messages, "rejected_records") == []


def test_a_listen_history_without_user_id_is_rejected():
    histories = make_listen_history(200)
    histories[5]["user_id"] = None
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/listen_history", histories)
        records = sync(make_tap(), "listen_history")
    assert len(records) == 199


def test_rejects_are_counted_even_when_rejected_records_is_not_selected():
    tracks = bad_tracks()
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        tap = make_tap(max_rejected_ratio=0.005)
        tap.streams["rejected_records"].selected = False
        with pytest.raises(TooManyRejectsError):
            sync(tap, "tracks")


def test_the_quick_schema_check_never_accepts_what_jsonschema_rejects():
    from jsonschema import Draft7Validator

    from tap_moovitamix.client import _FORMATS, quick_checker

    tap = make_tap()
    samples = {
        "tracks": make_tracks(1)[0],
        "users": make_users(1)[0],
        "listen_history": make_listen_history(1)[0],
    }
    odd_values = [None, 1, 1.0, True, "x", "12:345", "2025-13-01T00:00:00", [], ["1"], [1, "2"], {}]
    odd_values += [[1, True], [2.0], [1, None], [[1]]]
    for name, record in samples.items():
        schema = tap.streams[name].schema
        quick = quick_checker(schema)
        assert quick is not None, name
        assert quick(record), name
        validator = Draft7Validator(schema, format_checker=_FORMATS)
        for field in record:
            variants = [{k: v for k, v in record.items() if k != field}]
            variants += [{**record, field: value} for value in odd_values]
            for variant in variants:
                if quick(variant):
                    assert validator.is_valid(variant), (name, variant)
