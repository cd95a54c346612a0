"""Settings of ``python -m api``, read from the environment.

Parsing is kept apart from the server so a bad value becomes one clear error line
(the caller prints it and exits 2) instead of a traceback from deep inside uvicorn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from api.generator import MAX_RECORDS, MIN_RECORDS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_RECORDS = 1000
DEFAULT_SEED = 42


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    # 127.0.0.1 unless told otherwise: only a container (docker-compose.yml) needs 0.0.0.0.
    host: str
    port: int
    records: int
    seed: int


def _int_from_env(
    env: Mapping[str, str], name: str, default: int, low: int | None, high: int | None
) -> int:
    raw = env.get(name, "").strip()
    # An empty value counts as unset: `make start MOOVITAMIX_API_PORT=` should not fail.
    if not raw:
        return default
    bounds = (
        f"an integer in {low}..{high}"
        if low is not None and high is not None
        else "an integer"
    )
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"error: {name} must be {bounds}, got {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingsError(f"error: {name} must be {bounds}, got {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read MOOVITAMIX_API_HOST / _PORT / _RECORDS / _SEED; raise SettingsError on a bad value."""
    env = os.environ if env is None else env
    return Settings(
        host=env.get("MOOVITAMIX_API_HOST", "").strip() or DEFAULT_HOST,
        port=_int_from_env(env, "MOOVITAMIX_API_PORT", DEFAULT_PORT, 1, 65535),
        records=_int_from_env(
            env, "MOOVITAMIX_API_RECORDS", DEFAULT_RECORDS, MIN_RECORDS, MAX_RECORDS
        ),
        seed=_int_from_env(env, "MOOVITAMIX_API_SEED", DEFAULT_SEED, None, None),
    )
