"""What the tap writes and logs: the message writer, the log events, the committed catalog."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests_mock
import yaml
from singer_sdk.singerlib.messages import RecordMessage, SchemaMessage, StateMessage

from tap_moovitamix import output
from tap_moovitamix.errors import SourceChangedError
from tap_moovitamix.output import BufferedSingerWriter
from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import API_URL, make_tracks, page_json, serve, shifting
from tap_moovitamix.tests.helpers import make_tap, sync

TAP_DIR = Path(__file__).parents[2]
EXTRACTORS_YML = TAP_DIR.parent / "extractors.meltano.yml"


def lines(buffer: io.BytesIO) -> list[dict[str, t.Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


# --- the writer -----------------------------------------------------------------------


def test_messages_come_out_in_order_with_states_after_their_records():
    sink = io.BytesIO()
    writer = BufferedSingerWriter(sink)
    sent: list[dict[str, t.Any]] = []
    for n in range(5000):
        message: t.Any = RecordMessage(stream="tracks", record={"id": n})
        if n % 700 == 0:
            message = StateMessage(value={"n": n})
        writer.write_message(message)
        sent.append(message.to_dict())
    writer.flush()
    written = lines(sink)
    assert [m["type"] for m in written] == [m["type"] for m in sent]
    assert [m.get("record", m.get("value")) for m in written] == [
        m.get("record", m.get("value")) for m in sent
    ]


def test_a_state_is_queued_at_once_but_records_wait_for_a_full_block():
    sink = io.BytesIO()
    writer = BufferedSingerWriter(sink)
    schema = SchemaMessage(stream="tracks", schema={"properties": {}}, key_properties=[])
    writer.write_message(schema)
    writer.write_message(RecordMessage(stream="tracks", record={"id": 1}))
    writer._queue.join()  # what the writer thread has written so far
    assert [m["type"] for m in lines(sink)] == ["SCHEMA"]
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    writer._queue.join()
    assert [m["type"] for m in lines(sink)] == ["SCHEMA", "RECORD", "STATE"]


def test_the_queue_bounds_the_memory_held(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(output, "QUEUE_BLOCKS", 2)
    release = threading.Event()

    class SlowPipe(io.BytesIO):
        def write(self, data: t.Any) -> int:
            release.wait(5)
            return super().write(data)

    sink = SlowPipe()
    writer = BufferedSingerWriter(sink)
    producer = threading.Thread(
        target=lambda: [writer.write_message(StateMessage(value={"n": n})) for n in range(10)]
    )
    producer.start()
    deadline = time.monotonic() + 5
    while writer._queue.qsize() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    # One block in the writer's hands, two in the queue: the producer waits for room.
    assert producer.is_alive()
    assert writer._queue.qsize() == 2
    release.set()
    producer.join(5)
    writer.flush()
    assert [m["value"]["n"] for m in lines(sink)] == list(range(10))


def test_a_failed_write_is_raised_in_the_tap():
    class ClosedPipe(io.BytesIO):
        def write(self, data: t.Any) -> int:  # noqa: ARG002
            raise BrokenPipeError(32, "Broken pipe")

    writer = BufferedSingerWriter(ClosedPipe())
    writer.write_message(StateMessage(value={}))
    with pytest.raises(BrokenPipeError):
        writer.flush()
    with pytest.raises(BrokenPipeError):
        writer.write_message(StateMessage(value={}))


# --- log events -----------------------------------------------------------------------


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, str]]:
    """Parse the payloads the README documents: `event=<name> key=value ...`."""
    found = []
    for record in caplog.records:
        payload = record.getMessage()
        if payload.startswith(f"event={name} "):
            assert "  " not in payload
            assert "\n" not in payload
            found.append(dict(pair.split("=", 1) for pair in payload.split()))
    return found


def test_progress_every_n_pages_and_after_the_last(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(450))
        sync(make_tap(progress_every_pages=2), "tracks")
    progress = events(caplog, "progress")
    assert [(p["pages_read"], p["records"]) for p in progress] == [
        ("2", "200"),
        ("4", "400"),
        ("5", "450"),
    ]
    assert {(p["stream"], p["pages_total"], p["total"]) for p in progress} == {
        ("tracks", "5", "450")
    }


def test_stream_complete_counts_retries_429s_and_rejects(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    tracks = make_tracks(150)
    tracks[3]["id"] = "three"
    pages = [page_json(part, total=150, pages=2) for part in (tracks[:100], tracks[100:])]
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks?page=1",
            [
                {"status_code": 429, "headers": {"Retry-After": "1"}},
                {"status_code": 503},
                {"json": pages[0]},
            ],
        )
        mocker.get(f"{API_URL}/tracks?page=2", json=pages[1])
        sync(make_tap(max_rejected_ratio=0.5), "tracks")
    [complete] = events(caplog, "stream_complete")
    assert complete["stream"] == "tracks"
    assert complete["records"] == "150"  # read from the API
    assert complete["emitted"] == "149"  # the bad one went to rejected_records
    assert complete["pages"] == "2"
    assert complete["retries"] == "2"
    assert complete["http_429"] == "1"
    assert complete["rejected"] == "1"
    assert complete["rereads"] == "0"
    assert float(complete["seconds"]) >= 0


def test_a_failing_stream_logs_stream_failed(caplog: pytest.LogCaptureFixture):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=shifting(make_tracks(250), shifts=5))
        with pytest.raises(SourceChangedError):
            sync(make_tap(max_concurrent_requests=1), "tracks")
    [failed] = events(caplog, "stream_failed")
    assert failed["error"] == "SourceChangedError"
    assert failed["rereads"] == "1"
    assert events(caplog, "stream_complete") == []


# --- records as emitted ---------------------------------------------------------------


def test_fields_outside_the_schema_are_dropped():
    tracks = make_tracks(3)
    tracks[1]["surprise"] = "new field"
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", tracks)
        records = sync(make_tap(), "tracks")
    assert records == make_tracks(3)


# --- the committed catalog ------------------------------------------------------------


def test_the_committed_catalog_is_what_the_tap_discovers():
    committed = json.loads((TAP_DIR / "catalog.json").read_text())
    discovered = json.loads(TapMoovitamix(config={}, parse_env_config=False).run_discovery())
    assert committed == discovered, (
        "schemas or streams changed: regenerate extract/tap-moovitamix/catalog.json with "
        "`tap-moovitamix --discover`"
    )


def test_meltano_uses_the_committed_catalog():
    plugins = yaml.safe_load(EXTRACTORS_YML.read_text())["plugins"]["extractors"]
    [tap] = [plugin for plugin in plugins if plugin["name"] == "tap-moovitamix"]
    assert tap["catalog"] == "extract/tap-moovitamix/catalog.json"
