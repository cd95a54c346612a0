"""A source that changes while being read: re-read from page 1, or fail; never a hole."""

from __future__ import annotations

import typing as t

import pytest
import requests_mock

from tap_moovitamix.errors import SourceChangedError
from tap_moovitamix.tests.fake_api import API_URL, make_tracks, page_json, serve, shifting
from tap_moovitamix.tests.helpers import make_tap, sync


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
