"""The tap's retry policy, applied by the SDK's back-off hooks (client.py).

The server's Retry-After wins when it sent one, capped by `backoff_max_seconds` so a
bad header cannot stall the daily run; otherwise exponential backoff with "equal
jitter": half the delay fixed, half random, so concurrent requests do not retry in
lockstep.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import requests
from singer_sdk.exceptions import RetriableAPIError

# What the SDK's `request_decorator` retries: one of these escaping it means every
# attempt failed.
RETRIED_ERRORS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def retry_wait(retry: int, error: BaseException, *, base: float, cap: float) -> float:
    """Seconds to wait after `error` before retry number `retry` + 1."""
    response = getattr(error, "response", None)
    if response is not None and (after := parse_retry_after(response)) is not None:
        return min(after, cap)
    delay = min(cap, base * 2**retry)
    return delay / 2 + random.uniform(0, delay / 2)


def parse_retry_after(response: requests.Response) -> float | None:
    """Read a Retry-After header: delta-seconds or an HTTP date; None if absent or unusable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def status_of(error: BaseException | None) -> int | None:
    """Return the HTTP status an error came with, None if there was no response."""
    response = getattr(error, "response", None)
    return None if response is None else response.status_code


def describe(error: BaseException | None) -> str:
    """`<class>: <message>`, for logs and the final error."""
    return f"{type(error).__name__}: {error}"
