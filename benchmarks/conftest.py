"""Fixtures the benchmarks' unit tests share."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """The process's SIGINT and SIGTERM handlers, restored after the test."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
