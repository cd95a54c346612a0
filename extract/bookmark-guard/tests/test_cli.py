"""Unit tests of the guard's decision, on a stub warehouse (the end-to-end test with the real
pipeline is tests/test_extract_load.py)."""

from __future__ import annotations

import pytest

from bookmark_guard import cli

STATE = {
    "singer_state": {
        "bookmarks": {
            "tracks": {"replication_key": "updated_at", "replication_key_value": "2026-01-02", "source": "u"},
            "users": {"replication_key": "updated_at", "replication_key_value": "2026-01-03"},
            "listen_history": {"replication_key": "updated_at", "replication_key_value": "2026-01-04"},
            "rejected_records": {},
        }
    }
}


def test_only_bookmarked_streams_without_rows_are_unbacked(monkeypatch: pytest.MonkeyPatch) -> None:
    holding = {"tracks": False, "users": True, "listen_history": False, "rejected_records": False}
    monkeypatch.setattr(cli, "holds_rows", lambda _connection, schema, table: schema == "raw" and holding[table])
    assert cli.unbacked_streams(STATE, None, "raw") == ["listen_history", "tracks"]  # type: ignore[arg-type]


def test_a_state_without_bookmarks_has_nothing_to_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "holds_rows", lambda *_: False)
    assert cli.unbacked_streams({}, None, "raw") == []  # type: ignore[arg-type]


def test_dropping_keeps_every_other_bookmark_whole() -> None:
    kept = cli.without_bookmarks(STATE, ["tracks", "listen_history"])
    assert kept == {"singer_state": {"bookmarks": {
        "users": STATE["singer_state"]["bookmarks"]["users"], "rejected_records": {}}}}
    assert "tracks" in STATE["singer_state"]["bookmarks"]  # the input is not changed
