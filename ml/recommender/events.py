"""The job's one logger: one ``key=value`` line per thing that happened, on stderr.

Lines look like ``ts=2024-05-01T02:00:03Z level=INFO event=evaluated model_precision_at_10=0.0123``
so an orchestrator or a person can grep them and a log shipper can parse them.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger("recommender")


class _UtcFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        ts = self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ")
        return f"ts={ts} level={record.levelname} {record.getMessage()}"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is logged, not when the handler was
    made: a later redirection (a test's capture, a wrapper) then still gets the lines."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def setup_logging(level: int = logging.INFO) -> None:
    if not any(getattr(h, "_recommender", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_UtcFormatter())
        handler._recommender = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    # MLflow and its sqlite migrations (alembic) narrate every step at INFO; only
    # their warnings are worth a line in a daily job's log.
    for noisy in ("mlflow", "alembic", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    if text == "" or any(ch.isspace() or ch in '"=' for ch in text):
        return json.dumps(text)
    return text


def format_event(event: str, **fields: Any) -> str:
    return " ".join([f"event={event}"] + [f"{k}={_format_value(v)}" for k, v in fields.items()])


def emit(event: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, format_event(event, **fields))


@contextmanager
def timed(event: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Emit ``event`` with its ``seconds`` once the block is done: progress on the long
    steps, and where a run spends its time. The block may add fields to the dict."""
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    yield extra
    emit(event, seconds=round(time.perf_counter() - started, 1), **fields, **extra)
