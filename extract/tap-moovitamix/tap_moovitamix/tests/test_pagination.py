"""Pagination: the paginator, the concurrent walk, and each stream against a fake API."""

from __future__ import annotations

import threading
import time
import typing as t

import pytest
import requests_mock
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_moovitamix.pagination import MoovitamixPaginator, Page, walk_pages
from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import (
    API_URL,
    OMIT,
    make_listen_history,
    make_tracks,
    make_users,
    page_json,
    requested_pages,
    requested_sizes,
    serve,
)
from tap_moovitamix.tests.helpers import make_tap, sync

# --- the paginator on its own ----------------------------------------------------


def page(number: int, items: list[int], *, pages: int | None, total: int | None = 250) -> Page:
    return Page(number=number, items=items, total=total, pages=pages)


def test_paginator_starts_at_page_one():
    paginator = MoovitamixPaginator(page_size=100)
    assert paginator.current_value == 1
    assert not paginator.finished


def test_paginator_has_more_before_the_last_announced_page():
    paginator = MoovitamixPaginator(page_size=100)
    first = page(1, [1, 2], pages=3)
    assert paginator.has_more(first) is True
    assert paginator.get_next(first) == 2


def test_paginator_has_no_more_on_the_last_announced_page():
    paginator = MoovitamixPaginator(page_size=100)
    paginator.advance(page(1, [1], pages=3))
    paginator.advance(page(2, [1], pages=3))
    assert paginator.has_more(page(3, [1], pages=3)) is False


def test_paginator_counts_pages_from_total_without_pages():
    paginator = MoovitamixPaginator(page_size=100)
    paginator.advance(page(1, [1], pages=None, total=250))
    assert paginator.last_page == 3


def test_paginator_has_no_more_on_an_empty_page_even_if_pages_says_otherwise():
    paginator = MoovitamixPaginator(page_size=100)
    paginator.advance(page(1, [1], pages=99))
    assert paginator.has_more(page(2, [], pages=99)) is False


def test_paginator_keeps_going_without_pages_until_an_empty_page():
    paginator = MoovitamixPaginator(page_size=100)
    first = page(1, [1], pages=None, total=None)
    assert paginator.has_more(first) is True
    paginator.advance(first)
    assert paginator.has_more(page(2, [1], pages=None, total=None)) is True
    assert paginator.has_more(page(2, [], pages=None, total=None)) is False


def test_paginator_advances_one_page_at_a_time_and_finishes():
    paginator = MoovitamixPaginator(page_size=100)
    seen = []
    while not paginator.finished:
        seen.append(paginator.current_value)
        paginator.advance(page(paginator.current_value, [1], pages=3))
    assert seen == [1, 2, 3]
    assert paginator.count == 3


def test_paginator_trusts_the_page_it_asked_for_over_the_page_it_is_given():
    # A page numbered otherwise (a server echoing a stale `page`) must not make the tap
    # stop early or skip ahead.
    paginator = MoovitamixPaginator(page_size=100)
    paginator.advance(page(1, [1], pages=3))
    stale = page(9, [1], pages=3)
    assert paginator.has_more(stale) is True
    assert paginator.get_next(stale) == 3


# --- the walk: concurrent pages, in order, bounded -------------------------------


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

    pages = list(walk_pages(fetch, MoovitamixPaginator(page_size=1), max_concurrent=4))
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

    pages = list(walk_pages(fetch, MoovitamixPaginator(page_size=1), max_concurrent=4))
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


# --- streams against a fake API --------------------------------------------------


def test_tracks_reads_three_full_pages_in_order_and_stops_there():
    tracks = make_tracks(250)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        records = sync(make_tap(page_size=100), "tracks")
        assert requested_pages(mocker, "/tracks") == [1, 2, 3]
    assert len(records) == 250
    assert [r["id"] for r in records] == [t["id"] for t in tracks]
    assert records[-1] == tracks[-1]


def test_without_pages_the_total_gives_the_page_count():
    tracks = make_tracks(250)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks, pages=OMIT)
        records = sync(make_tap(page_size=100), "tracks")
        # total=250 at size 100 is 3 pages: no need to ask for an empty page 4.
        assert requested_pages(mocker, "/tracks") == [1, 2, 3]
    assert [r["id"] for r in records] == [t["id"] for t in tracks]


def test_empty_page_stops_reading_when_pages_is_too_high():
    tracks = make_tracks(250)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks, pages=99)
        records = sync(make_tap(page_size=100, max_concurrent_requests=4), "tracks")
        # Page 4 is past the end: it comes back empty and ends the walk. Pages fetched
        # ahead are dropped; the window (4 pages) bounds how far ahead the walk went.
        requested = requested_pages(mocker, "/tracks")
        assert sorted(requested)[:4] == [1, 2, 3, 4]
        assert max(requested) <= 4 + 3
    assert [r["id"] for r in records] == [t["id"] for t in tracks]


def test_without_pages_nor_total_the_walk_ends_on_the_empty_page():
    tracks = make_tracks(250)

    def page_of(request, context):  # noqa: ARG001
        page = int(request.qs["page"][0])
        return {"items": tracks[(page - 1) * 100 : page * 100], "page": page, "size": 100}

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        records = sync(make_tap(page_size=100), "tracks")
        assert requested_pages(mocker, "/tracks") == [1, 2, 3, 4]
    assert records == tracks


def test_a_single_page_takes_a_single_request():
    tracks = make_tracks(40)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        records = sync(make_tap(), "tracks")
        assert requested_pages(mocker, "/tracks") == [1]
    assert records == tracks


def test_an_empty_endpoint_yields_nothing_after_one_request():
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", [])
        assert sync(make_tap(), "tracks") == []
        assert requested_pages(mocker, "/tracks") == [1]


def test_configured_page_size_is_sent_as_size():
    tracks = make_tracks(25)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        records = sync(make_tap(page_size=10), "tracks")
        assert requested_pages(mocker, "/tracks") == [1, 2, 3]
        assert requested_sizes(mocker, "/tracks") == [10, 10, 10]
    assert [r["id"] for r in records] == [t["id"] for t in tracks]


def test_default_settings():
    tap = TapMoovitamix(config={}, parse_env_config=False)
    assert tap.config["api_url"] == "http://127.0.0.1:8000"
    assert tap.config["page_size"] == 100


@pytest.mark.parametrize("page_size", [0, 101])
def test_page_size_outside_the_api_range_is_rejected(page_size: int):
    with pytest.raises(ConfigValidationError):
        make_tap(page_size=page_size)


def test_trailing_slash_on_api_url_does_not_break_urls():
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(3))
        records = sync(make_tap(api_url=f"{API_URL}/"), "tracks")
        assert [r.url for r in mocker.request_history] == [f"{API_URL}/tracks?page=1&size=100"]
    assert len(records) == 3


@pytest.mark.parametrize(
    ("stream_name", "path", "records", "key"),
    [
        ("tracks", "/tracks", make_tracks(120), "id"),
        ("users", "/users", make_users(120), "id"),
        ("listen_history", "/listen_history", make_listen_history(120), "user_id"),
    ],
)
def test_every_stream_reads_all_pages_of_its_endpoint(
    stream_name: str, path: str, records: list[dict[str, t.Any]], key: str
):
    with requests_mock.Mocker() as mocker:
        serve(mocker, path, records)
        synced = sync(make_tap(page_size=50), stream_name)
        assert requested_pages(mocker, path) == [1, 2, 3]
        # Only this stream's endpoint was called.
        assert {r.path for r in mocker.request_history} == {path}
    assert synced == records
    # created_at is part of the key: a redrawn id is another entity (README).
    assert tuple(make_tap().streams[stream_name].primary_keys) == (key, "created_at")


def test_http_errors_are_not_swallowed():
    # A 422 (bad page/size) is fatal: the sync must fail, not end as if complete.
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=422, json={"detail": []})
        with pytest.raises(FatalAPIError, match="422"):
            sync(make_tap(), "tracks")
