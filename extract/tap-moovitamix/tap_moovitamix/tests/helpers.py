"""Running the tap in tests: build it hermetically, sync a stream or the whole tap."""

from __future__ import annotations

import json
import typing as t

from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import API_URL

if t.TYPE_CHECKING:
    import pytest

# Retries wait a few milliseconds at most, unless a test sets its own back-off.
FAST = {"backoff_base_seconds": 0.001, "backoff_max_seconds": 0.01}


def make_tap(state: dict | None = None, **config: t.Any) -> TapMoovitamix:
    """Return the tap on the fake API; parse_env_config=False: a TAP_MOOVITAMIX_* variable
    in the shell must not change what a test requests."""
    return TapMoovitamix(
        config={"api_url": API_URL, **FAST, **config}, state=state, parse_env_config=False
    )


def sync(tap: TapMoovitamix, stream_name: str) -> list[dict[str, t.Any]]:
    """Return the records of one stream as the SDK's sync emits them.

    As in the SDK's `_sync_records`: each record from `get_records` goes through
    `post_process` before the next one is read, and None means dropped.
    """
    stream = tap.streams[stream_name]
    processed = (stream.post_process(record, None) for record in stream.get_records(None))
    try:
        return [record for record in processed if record is not None]
    finally:
        # As `sync_all` does: what was emitted (rejects) is written before the test ends.
        tap.message_writer.flush()  # type: ignore[attr-defined]


def run(tap: TapMoovitamix, capsys: pytest.CaptureFixture[str]) -> list[dict[str, t.Any]]:
    """Sync every stream; return the Singer messages written."""
    capsys.readouterr()
    tap.sync_all()
    return messages_written(capsys)


def messages_written(capsys: pytest.CaptureFixture[str]) -> list[dict[str, t.Any]]:
    """Return the Singer messages written to stdout since the last capture."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def records_of(messages: list[dict[str, t.Any]], stream: str) -> list[dict[str, t.Any]]:
    """Return the RECORD payloads of `stream`, in order."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def last_state(messages: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Return the value of the last STATE message."""
    return [m["value"] for m in messages if m["type"] == "STATE"][-1]
