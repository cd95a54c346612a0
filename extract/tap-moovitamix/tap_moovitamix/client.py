"""Base REST stream shared by every MooVitamix endpoint, built on singer-sdk's hooks.

Requests go through the SDK: `get_url_params` and `authenticator` build them,
`request_decorator` wraps `_request` with the back-off hooks below, `validate_response`
sorts retriable from fatal. `post_process` drops records the bookmark or `start_date`
excludes and diverts those that break the schema.

What the SDK cannot do lives in modules of its own, driven by `get_records`: reading
until one read is whole (reads.py), the concurrent page walk (pagination.py), the checks
of a read (integrity.py), the `rejected_records` side stream (rejects.py), the counters
and log events (progress.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import typing as t
from functools import cached_property
from http import HTTPStatus

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.authenticators import BearerTokenAuthenticator, SimpleAuthenticator
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_moovitamix.errors import RetriesExhaustedError, TooManyRejectsError
from tap_moovitamix.pagination import MoovitamixPaginator, Page, WalkStoppedError
from tap_moovitamix.progress import StreamStats
from tap_moovitamix.reads import read_until_whole
from tap_moovitamix.records import RecordValidator, canonical_timestamp, newer
from tap_moovitamix.rejects import REJECTED_STREAM
from tap_moovitamix.retries import RETRIED_ERRORS, describe, retry_wait, status_of

if t.TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Generator, Iterator

    from backoff.types import Details
    from singer_sdk.helpers.types import Auth, Context


class MoovitamixStream(RESTStream[int]):
    """One paginated GET endpoint of the MooVitamix API, read incrementally."""

    # The API has no server-side filter: every page is read, `post_process` filters.
    replication_key = "updated_at"
    # The field that identifies a record at the source (streams.py says why the key
    # properties add `created_at`); used for duplicate and identity checks.
    id_field: t.ClassVar[str] = "id"
    # The SDK's conformance walks every value of every record (each of the ~70 track ids
    # of a listen history): ~40% of the tap's CPU. Records come from JSON and pass their
    # schema in `post_process`; dropping unknown fields, its one other effect, is `_project`.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # One METRIC line per request (3,000 a run at 100,000 records per endpoint) would
    # drown the run's log; requests are still counted (`http_request_count`).
    _LOG_REQUEST_METRICS = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Give the SDK's session a connection per concurrent request; empty counters."""
        super().__init__(*args, **kwargs)
        size = max(10, int(self.config["max_concurrent_requests"]))
        adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
        self.requests_session.mount("http://", adapter)
        self.requests_session.mount("https://", adapter)
        self.stats = StreamStats(self.name)
        # The bookmark and start_date of the read in progress (set by reads.py).
        self.bounds: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
        self._unknown_fields_logged = False

    @property
    def is_sorted(self) -> bool:
        """False: records are not in `updated_at` order, so the bookmark is provisional.

        The SDK then keeps the running maximum in `progress_markers` and promotes it to
        `replication_key_value` only when the stream ends without error: a run that dies
        mid-stream leaves the previous bookmark in place.
        """
        return False

    def get_replication_key_signpost(self, context: Context | None = None) -> None:  # noqa: ARG002
        """None: the bookmark is not capped at the tap's clock.

        The timestamps come from the source's clock; when it is ahead of ours, the SDK's
        default cap (now) would make every such record be re-sent on every run.
        """
        return

    # --- requests -----------------------------------------------------------------

    @property
    def url_base(self) -> str:
        """Return the API root; a trailing slash on the setting is dropped."""
        return str(self.config["api_url"]).rstrip("/")

    @cached_property
    def authenticator(self) -> Auth:
        """A bearer token when `auth_token` is set (empty counts as unset)."""
        token = self.config.get("auth_token")
        return BearerTokenAuthenticator(token=token) if token else SimpleAuthenticator()

    @property
    def http_headers(self) -> dict[str, str]:
        """Ask for JSON; the SDK adds `User-Agent` from the `user_agent` setting."""
        return {"Accept": "application/json"}

    @property
    def timeout(self) -> int:
        """Seconds to wait for a connection or for data (`request_timeout`)."""
        return self.config["request_timeout"]

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:  # noqa: ARG002
        """Ask for page `next_page_token` of `page_size` records."""
        return {"page": next_page_token, "size": self.config["page_size"]}

    def get_new_paginator(self) -> MoovitamixPaginator:
        """Return a paginator for one read of the endpoint."""
        return MoovitamixPaginator(int(self.config["page_size"]))

    def validate_response(self, response: requests.Response) -> None:
        """Apply the SDK's rule (5xx and 429 retried, other 4xx fatal); a 401 says what to fix."""
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            msg = (
                f"GET {response.url} answered HTTP 401 Unauthorized: bad or missing token "
                "(setting auth_token, env TAP_MOOVITAMIX_AUTH_TOKEN)"
            )
            raise FatalAPIError(msg)
        super().validate_response(response)

    def response_error_message(self, response: requests.Response) -> str:
        """Name the request, its status and the start of the body."""
        reason = f"HTTP {response.status_code} {response.reason}"
        return f"GET {response.url} answered {reason}: {response.text[:300]}"

    def backoff_max_tries(self) -> int:
        """Allow the first attempt and `max_retries` retries."""
        return int(self.config["max_retries"]) + 1

    def backoff_wait_generator(self) -> Generator[float, None, None]:
        """Wait as retries.py says: Retry-After, else exponential with jitter."""
        retries = itertools.count()
        base = float(self.config["backoff_base_seconds"])
        cap = float(self.config["backoff_max_seconds"])
        return self.backoff_runtime(
            value=lambda error: retry_wait(next(retries), error, base=base, cap=cap)
        )

    def backoff_jitter(self, value: float) -> float:
        """Add none: `retry_wait` draws it, and only for waits the server did not set."""
        return value

    def backoff_handler(self, details: Details) -> None:
        """Count the failed attempt and log it; no wait when the walk no longer needs the page."""
        prepared, _number, stop = details["args"]
        error = details.get("exception")
        self.stats.count_failed_attempt(status=status_of(error), retried=True)
        self.logger.warning(
            "GET %s: %s (attempt %d of %d); retrying in %.2f s",
            prepared.url,
            describe(error),
            details["tries"],
            self.backoff_max_tries(),
            details.get("wait", 0.0),
        )
        if stop.is_set():
            raise WalkStoppedError(prepared.url)

    @cached_property
    def _request_page(self) -> Callable[[requests.PreparedRequest, int, threading.Event], Page]:
        def attempt(prepared: requests.PreparedRequest, number: int, stop: threading.Event) -> Page:
            if stop.is_set():
                raise WalkStoppedError(prepared.url)
            # Inside the retried call: a body that is not a page envelope is retried too.
            return Page.from_response(self._request(prepared, None), number)

        return self.request_decorator(attempt)

    def fetch_page(self, number: int, stop: threading.Event) -> Page:
        """GET page `number`; `stop` (set when the walk ends early) prevents any new attempt."""
        prepared = self.prepare_request(None, number)
        try:
            return self._request_page(prepared, number, stop)
        except RETRIED_ERRORS as error:
            self.stats.count_failed_attempt(status=status_of(error), retried=False)
            raise RetriesExhaustedError.after(
                str(prepared.url), self.backoff_max_tries(), error
            ) from error

    # --- records ------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Yield the records of one complete, consistent read.

        Logs `event=stream_complete` with the stream's counters when it ends, or
        `event=stream_failed` (and re-raises) when it cannot.
        """
        self.stats = StreamStats(self.name)
        try:
            yield from read_until_whole(self, context)
        except Exception as error:
            self.logger.error(self.stats.summary("stream_failed", error=type(error).__name__))
            raise
        self.logger.info(self.stats.summary("stream_complete"))

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:  # noqa: ARG002
        """Drop what the bookmark or start_date exclude; divert what breaks the schema."""
        if not newer(row, self.replication_key, *self.bounds):
            return None
        reason = self._validator.problems(row)
        if reason:
            self.reject(row, reason)
            return None
        self.stats.emitted += 1
        return self._project(row)

    @cached_property
    def _validator(self) -> RecordValidator:
        return RecordValidator(self.schema)

    @cached_property
    def _property_names(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    def _project(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Drop fields the schema does not know (what the SDK's conformance did)."""
        if self._property_names.issuperset(record):
            return record
        if not self._unknown_fields_logged:
            unknown = sorted(set(record) - self._property_names)
            self.logger.warning("%s: fields not in the schema are dropped: %s", self.name, unknown)
            self._unknown_fields_logged = True
        return {name: value for name, value in record.items() if name in self._property_names}

    def reject(self, record: t.Any, reason: str) -> None:
        """Count a record that breaks the schema and send it to `rejected_records`."""
        self.stats.rejected += 1
        record_id = record.get(self.id_field) if isinstance(record, dict) else None
        self.logger.warning("%s: rejected record %s: %s", self.name, record_id, reason)
        rejected = self._tap.streams.get(REJECTED_STREAM)
        if rejected is not None and rejected.selected:  # not selected: only logged and counted
            rejected.reject(self.name, record, record_id, reason)  # type: ignore[attr-defined]

    def check_rejects(self, read: int) -> None:
        """Fail when more of the `read` records of a read broke the schema than allowed."""
        ratio = float(self.config["max_rejected_ratio"])
        rejected = self.stats.rejected
        if read and rejected / read > ratio:
            msg = (
                f"stream {self.name}: {rejected} of {read} records broke the schema "
                f"({rejected / read:.2%} > max_rejected_ratio {ratio:.2%}); they are in "
                f"{REJECTED_STREAM} with run_id {self._tap.run_id}; the bookmark is "  # type: ignore[attr-defined]
                "not advanced"
            )
            raise TooManyRejectsError(msg)

    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: Context | None = None
    ) -> None:
        """Track the bookmark in one canonical format (see `canonical_timestamp`)."""
        value = canonical_timestamp(latest_record[self.replication_key])
        super()._increment_stream_state({self.replication_key: value}, context=context)
