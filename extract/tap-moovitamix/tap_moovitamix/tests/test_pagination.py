"""Pagination: the paginator on its own, then each stream against a fake API."""

from __future__ import annotations

import json
import typing as t

import pytest
import requests
import requests_mock
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_moovitamix.pagination import MoovitamixPaginator
from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import (
    API_URL,
    OMIT,
    make_listen_history,
    make_tracks,
    make_users,
    requested_pages,
    requested_sizes,
    serve,
)

# --- the paginator against fake responses ----------------------------------------


def fake_response(body: dict[str, t.Any]) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(body).encode()
    return response


def envelope(items: list[int], *, page: int, pages: int | None) -> dict[str, t.Any]:
    body: dict[str, t.Any] = {"items": items, "total": 250, "page": page, "size": 100}
    if pages is not None:
        body["pages"] = pages
    return body


def test_paginator_starts_at_page_one():
    paginator = MoovitamixPaginator()
    assert paginator.current_value == 1
    assert not paginator.finished


def test_paginator_has_more_before_the_last_announced_page():
    paginator = MoovitamixPaginator()
    response = fake_response(envelope([1, 2], page=1, pages=3))
    assert paginator.has_more(response) is True
    assert paginator.get_next(response) == 2


def test_paginator_has_no_more_on_the_last_announced_page():
    paginator = MoovitamixPaginator(start_value=3)
    assert paginator.has_more(fake_response(envelope([1], page=3, pages=3))) is False


def test_paginator_has_no_more_on_an_empty_page_even_if_pages_says_otherwise():
    paginator = MoovitamixPaginator(start_value=4)
    assert paginator.has_more(fake_response(envelope([], page=4, pages=99))) is False


def test_paginator_keeps_going_without_pages_until_an_empty_page():
    paginator = MoovitamixPaginator(start_value=7)
    assert paginator.has_more(fake_response(envelope([1], page=7, pages=None))) is True
    assert paginator.has_more(fake_response(envelope([], page=8, pages=None))) is False


def test_paginator_advances_one_page_at_a_time_and_finishes():
    paginator = MoovitamixPaginator()
    seen = []
    while not paginator.finished:
        seen.append(paginator.current_value)
        paginator.advance(fake_response(envelope([1], page=paginator.current_value, pages=3)))
    assert seen == [1, 2, 3]
    assert paginator.count == 3


def test_paginator_trusts_the_requested_page_over_the_envelope_page():
    # A server echoing a stale `page` must not make the tap stop early or skip ahead.
    paginator = MoovitamixPaginator(start_value=2)
    response = fake_response(envelope([1], page=9, pages=3))
    assert paginator.has_more(response) is True
    assert paginator.get_next(response) == 3


# --- streams against a fake API --------------------------------------------------


def make_tap(**config: t.Any) -> TapMoovitamix:
    # parse_env_config=False: a TAP_MOOVITAMIX_* variable in the shell must not
    # change what these tests request.
    return TapMoovitamix(config={"api_url": API_URL, **config}, parse_env_config=False)


def sync(tap: TapMoovitamix, stream_name: str) -> list[dict[str, t.Any]]:
    return list(tap.streams[stream_name].get_records(context=None))


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
