"""Fixtures shared by the tap's tests."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every wait between two attempts of a request instead of sleeping.

    The SDK's back-off (the `backoff` package behind `request_decorator`) waits with
    `time.sleep`; the modules that test retries use this fixture, those that need real
    sleeps (the page walk, the writer thread) do not.
    """
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded
