"""Days: day d+1 is day d plus new records, updated records and grown histories."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.stand_in.app import create_app
from api.stand_in.settings import Settings
from api.stand_in.world import records
from api.tests.conftest import read_all

Records = dict[str, list[dict[str, Any]]]
KEYS = {"tracks": "id", "users": "id", "listen_history": "user_id"}


@pytest.fixture(scope="module", params=["realistic", "shipped"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def days(mode: str) -> tuple[Records, Records]:
    settings = Settings(mode=mode, tracks=800, users=600)
    return records(settings, 0), records(settings, 1)


def _by_key(recs: Records, endpoint: str) -> dict[int, dict[str, Any]]:
    return {record[KEYS[endpoint]]: record for record in recs[endpoint]}


@pytest.mark.parametrize("endpoint", list(KEYS))
def test_day_1_extends_day_0(days: tuple[Records, Records], endpoint: str) -> None:
    before, after = _by_key(days[0], endpoint), _by_key(days[1], endpoint)
    new = set(after) - set(before)
    assert set(before) < set(after)  # ids are stable: nothing disappears
    assert len(new) == (16 if endpoint == "tracks" else 12)  # 2 % of day 0 by default
    # New records come last, and are newer than anything of day 0.
    assert [r[KEYS[endpoint]] for r in days[1][endpoint][: len(before)]] == list(before)
    newest_before = max(r["updated_at"] for r in before.values())
    assert all(after[key]["created_at"] > newest_before for key in new)


@pytest.mark.parametrize("endpoint", ["tracks", "users"])
def test_some_records_are_updated_with_changed_fields(days: tuple[Records, Records], endpoint: str) -> None:
    before, after = _by_key(days[0], endpoint), _by_key(days[1], endpoint)
    changed = [key for key in before if after[key] != before[key]]
    assert 0.02 * len(before) < len(changed) < 0.09 * len(before)  # 5 % by default
    newest_before = max(r["updated_at"] for r in before.values())
    for key in changed:
        old, new = before[key], after[key]
        assert new["created_at"] == old["created_at"]
        assert new["updated_at"] > newest_before
        content = [name for name in old if name not in ("created_at", "updated_at") and old[name] != new[name]]
        assert content, (old, new)


def test_histories_grow_by_appending(days: tuple[Records, Records], mode: str) -> None:
    before, after = _by_key(days[0], "listen_history"), _by_key(days[1], "listen_history")
    grown = [key for key in before if after[key] != before[key]]
    assert 0.05 * len(before) < len(grown) < 0.15 * len(before)  # 10 % by default
    newest_before = max(r["updated_at"] for r in before.values())
    for key in grown:
        old, new = before[key], after[key]
        assert new["updated_at"] > newest_before and new["created_at"] == old["created_at"]
        if mode == "realistic":
            assert len(new["items"]) > len(old["items"]) and new["items"][: len(old["items"])] == old["items"]
        else:
            assert len(new["items"]) == 5 and new["items"] != old["items"]  # shipped shape: redrawn
    track_ids = {track["id"] for track in days[1]["tracks"]}
    assert all(set(history["items"]) <= track_ids for history in after.values())


def test_served_day_equals_the_expected_records() -> None:
    """What a test computes with api.stand_in.world.records is exactly what the server serves that day."""
    settings = Settings(tracks=300, users=200, day=2)
    expected = records(settings)
    with TestClient(create_app(settings)) as client:
        for endpoint in KEYS:
            assert read_all(client, f"/{endpoint}") == expected[endpoint]


def test_later_days_stay_consistent() -> None:
    """Serving day 3 directly gives day 2's records, updated: what a warehouse ends up with."""
    settings = Settings(tracks=300, users=200)
    day2, day3 = records(settings, 2), records(settings, 3)
    for endpoint, key in KEYS.items():
        older = {r[key]: r for r in day2[endpoint]}
        newer = {r[key]: r for r in day3[endpoint]}
        assert set(older) <= set(newer)
        assert all(newer[k]["updated_at"] >= older[k]["updated_at"] for k in older)
