"""Records that break their schema: diverted to rejected_records, counted, bounded."""

from __future__ import annotations

import json
import typing as t

import pytest
import requests_mock
from jsonschema import Draft7Validator

from tap_moovitamix.errors import TooManyRejectsError
from tap_moovitamix.records import FORMATS, quick_checker
from tap_moovitamix.tests.fake_api import (
    make_listen_history,
    make_tracks,
    make_users,
    serve,
    serve_all,
)
from tap_moovitamix.tests.helpers import make_tap, messages_written, records_of, run, sync


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
    messages = messages_written(capsys)
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
        validator = Draft7Validator(schema, format_checker=FORMATS)
        for field in record:
            variants = [{k: v for k, v in record.items() if k != field}]
            variants += [{**record, field: value} for value in odd_values]
            for variant in variants:
                if quick(variant):
                    assert validator.is_valid(variant), (name, variant)
