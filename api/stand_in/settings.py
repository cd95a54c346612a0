"""Settings of the stand-in, read from ``MOOVITAMIX_API_*`` environment variables.

Parsing is kept apart from the server so a bad value becomes one clear error line
(``python -m api.stand_in`` prints it and exits 2) instead of a traceback from deep inside uvicorn.
Every setting and its default is documented in api/README.md.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TypeVar

from api.stand_in.timeline import SHIFT_CAPACITY, id_range, size_at

PREFIX = "MOOVITAMIX_API_"
MODES = ("realistic", "shipped")
MAX_RECORDS = 10_000_000
MAX_DAY = 365
# Every shipped history holds 5 distinct tracks; a realistic one leaves 10 unlistened.
MIN_TRACKS = {"shipped": 5, "realistic": 15}

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


@dataclass(frozen=True)
class Faults:
    """Probability, per request to a data endpoint, of each injected fault (0 = off)."""

    http_500: float = 0.0
    http_503: float = 0.0
    http_429: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    bad_record: float = 0.0
    duplicate: float = 0.0
    shift: float = 0.0

    def any(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self))


@dataclass(frozen=True)
class Settings:
    # 127.0.0.1 unless told otherwise: only a container (docker-compose.yml) needs 0.0.0.0.
    host: str = "127.0.0.1"
    port: int = 8000
    mode: str = "realistic"
    seed: int = 42
    # Records of each endpoint on day 0 (listen_history has one record per user).
    tracks: int = 1000
    users: int = 1000
    day: int = 0
    # New records per day, as a share of the day-0 size; share of records updated per day;
    # share of histories that grow per day.
    daily_new: float = 0.02
    daily_updates: float = 0.05
    daily_growth: float = 0.10
    universe: int = 0
    token: str | None = None
    faults: Faults = field(default_factory=Faults)
    retry_after: int = 1
    slow_seconds: float = 2.0


def _text(raw: str) -> str:
    return raw


def _integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(_expected(low, high, "an integer")) from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(_expected(low, high, "an integer"))
        return value

    return parse


def _number(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(_expected(low, high, "a number")) from None
        if not low <= value <= high:  # also rejects nan
            raise ValueError(_expected(low, high, "a number"))
        return value

    return parse


def _expected(low: float | None, high: float | None, kind: str) -> str:
    if low is not None and high is not None:
        return f"{kind} in {low}..{high}"
    if low is not None:
        return f"{kind} >= {low}"
    return kind


def _mode(raw: str) -> str:
    if raw not in MODES:
        raise ValueError("one of " + ", ".join(MODES))
    return raw


def _universe(raw: str) -> int:
    # "new" is the shipped application's behaviour: every start draws another world.
    if raw == "new":
        return secrets.randbelow(1 << 31) + 1
    return _integer(0, None)(raw)


def _read(env: Mapping[str, str], suffix: str, parse: Callable[[str], T], default: T) -> T:
    name = PREFIX + suffix
    raw = env.get(name, "").strip()
    # An empty value counts as unset: `make start MOOVITAMIX_API_PORT=` should not fail.
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"error: {name} must be {exc}, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every ``MOOVITAMIX_API_*`` variable; raise SettingsError (one line) on a bad value."""
    env = os.environ if env is None else env
    base = Settings()
    rate = _number(0.0, 1.0)
    mode = _read(env, "MODE", _mode, base.mode)
    records = _read(env, "RECORDS", _integer(1, MAX_RECORDS), base.tracks)
    tracks = _read(env, "TRACKS", _integer(1, MAX_RECORDS), records)
    if tracks < MIN_TRACKS[mode]:
        source = "TRACKS" if env.get(PREFIX + "TRACKS", "").strip() else "RECORDS"
        raise SettingsError(
            f"error: {PREFIX}{source} must be at least {MIN_TRACKS[mode]} in {mode} mode "
            f"(histories need that many tracks), got {tracks}"
        )
    settings = Settings(
        host=_read(env, "HOST", _text, base.host),
        port=_read(env, "PORT", _integer(1, 65535), base.port),
        mode=mode,
        seed=_read(env, "SEED", _integer(), base.seed),
        tracks=tracks,
        users=_read(env, "USERS", _integer(1, MAX_RECORDS), records),
        day=_read(env, "DAY", _integer(0, MAX_DAY), base.day),
        daily_new=_read(env, "DAILY_NEW", rate, base.daily_new),
        daily_updates=_read(env, "DAILY_UPDATES", rate, base.daily_updates),
        daily_growth=_read(env, "DAILY_GROWTH", rate, base.daily_growth),
        universe=_read(env, "UNIVERSE", _universe, base.universe),
        token=_read(env, "TOKEN", _text, None),
        faults=Faults(
            http_500=_read(env, "FAULT_500_RATE", rate, 0.0),
            http_503=_read(env, "FAULT_503_RATE", rate, 0.0),
            http_429=_read(env, "FAULT_429_RATE", rate, 0.0),
            slow=_read(env, "FAULT_SLOW_RATE", rate, 0.0),
            drop=_read(env, "FAULT_DROP_RATE", rate, 0.0),
            truncate=_read(env, "FAULT_TRUNCATE_RATE", rate, 0.0),
            bad_record=_read(env, "FAULT_BAD_RECORD_RATE", rate, 0.0),
            duplicate=_read(env, "FAULT_DUPLICATE_RATE", rate, 0.0),
            shift=_read(env, "FAULT_SHIFT_RATE", rate, 0.0),
        ),
        retry_after=_read(env, "RETRY_AFTER", _integer(0, 3600), base.retry_after),
        slow_seconds=_read(env, "SLOW_SECONDS", _number(0.0, 600.0), base.slow_seconds),
    )
    for endpoint, day0_size in (("TRACKS", settings.tracks), ("USERS", settings.users)):
        last = size_at(day0_size, settings.daily_new, settings.day)
        if last + SHIFT_CAPACITY > id_range(day0_size):
            raise SettingsError(
                f"error: {PREFIX}DAY={settings.day} with {PREFIX}DAILY_NEW={settings.daily_new} makes {last} "
                f"{endpoint.lower()}, more than the id range of {id_range(day0_size)} holds; lower one of them"
            )
    return settings
