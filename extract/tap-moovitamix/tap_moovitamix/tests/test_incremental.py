"""Incremental reads: bookmarks, start_date, the source and the identity of the ids."""

from __future__ import annotations

import typing as t

import pytest
import requests_mock

from tap_moovitamix.errors import RetriesExhaustedError
from tap_moovitamix.reads import stored_bookmark
from tap_moovitamix.records import canonical_timestamp
from tap_moovitamix.tests.fake_api import (
    API_URL,
    make_listen_history,
    make_tracks,
    make_users,
    page_json,
    serve,
    serve_all,
)
from tap_moovitamix.tests.helpers import last_state, make_tap, messages_written, records_of, run


def stamped(tracks: list[dict], stamps: list[str]) -> list[dict]:
    return [{**track, "updated_at": stamp} for track, stamp in zip(tracks, stamps, strict=True)]


STAMPS = [
    "2025-01-01T00:00:00.000000",
    "2025-01-03T00:00:00.000000",
    "2025-01-02T00:00:00.000000",
    "2025-01-05T00:00:00.000000",
    "2025-01-04T00:00:00.000000",
]


def tracks_read_the_next_day(
    capsys: pytest.CaptureFixture[str], day0: list[dict[str, t.Any]], day1: list[dict[str, t.Any]]
) -> list[dict[str, t.Any]]:
    """The tracks a run emits from `day1`, after a run that read `day0` (its state carried over
    and, with it, the identity sample the second run checks)."""
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day0)
        state = last_state(run(make_tap(), capsys))
    assert state["bookmarks"]["tracks"]["identity_sample"]
    with requests_mock.Mocker() as mocker:
        serve_all(mocker, tracks=day1)
        return records_of(run(make_tap(state=state), capsys), "tracks")

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
    messages = messages_written(capsys)
    assert records_of(messages, "tracks")  # page 1 was sent...
    for state in [m["value"] for m in messages if m["type"] == "STATE"]:
        tracks_state = state["bookmarks"].get("tracks", {})
        # ...but no STATE ever carried a bookmark past the old one.
        assert tracks_state.get("replication_key_value") in (None, old["replication_key_value"])
    # What the next run sees after the SDK resets progress markers: the old bookmark.
    after = make_tap(state=last_state(messages)).streams["tracks"]
    bookmark = stored_bookmark(after.get_context_state(None), after.replication_key)
    assert bookmark is not None
    assert bookmark.isoformat() == "2024-01-01T00:00:00+00:00"


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
    # Without the identity check all five would be dropped as "not newer".
    assert tracks_read_the_next_day(capsys, day0, redrawn) == redrawn


def test_vanished_ids_make_the_next_run_ignore_the_bookmark(capsys: pytest.CaptureFixture[str]):
    day0 = stamped(make_tracks(5), STAMPS)
    other = [{**track, "id": track["id"] + 50000, "updated_at": STAMPS[0]} for track in day0]
    assert tracks_read_the_next_day(capsys, day0, other) == other


def test_the_same_universe_keeps_the_bookmark(capsys: pytest.CaptureFixture[str]):
    day0 = stamped(make_tracks(5), STAMPS)
    day1 = [*day0, {**make_tracks(6)[5], "updated_at": "2025-02-01T00:00:00"}]
    assert tracks_read_the_next_day(capsys, day0, day1) == [day1[5]]


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
        for path, records in (
            ("/tracks", older),
            ("/users", make_users(5)),
            ("/listen_history", make_listen_history(5)),
        ):
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
