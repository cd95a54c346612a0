"""Base REST stream shared by every MooVitamix endpoint: one read path for all three.

What happens to a stream, in order (`MoovitamixStream.get_records`):

1. pages are fetched by `fetch_page`, the only place that talks HTTP, with the one
   retry policy of the tap (`validate_response` + `_wait_before_retry`);
2. `walk_pages` (pagination.py) yields them in page order, fetching ahead concurrently;
3. each record goes through `_admit`: identity check against the last run, bookmark
   filter, schema validation (a bad record goes to the `rejected_records` stream);
4. `ReadLedger` checks the read is whole; a source that shifted is read again (up to
   `max_shift_rereads` times), then the stream fails rather than finishing with a hole;
5. the reject ratio is checked, and only then does the stream end, which is when the
   SDK promotes the new bookmark (`is_sorted = False`: progress markers until the end).

Along the way the stream logs `event=progress` every `progress_every_pages` pages and
`event=stream_complete` (or `event=stream_failed`) at the end (progress.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import json
import random
import re
import threading
import time
import typing as t
from dataclasses import dataclass
from functools import cached_property

import requests
from jsonschema import Draft7Validator, FormatChecker
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_moovitamix.pagination import (
    Page,
    ReadLedger,
    SourceShiftedError,
    WalkStoppedError,
    planned_last_page,
    walk_pages,
)
from tap_moovitamix.progress import StreamStats, format_event

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

# How many (id -> created_at) pairs of a completed read are kept in the state to
# recognise the same universe on the next run (see `_admit`).
IDENTITY_SAMPLE_SIZE = 20
REJECTED_STREAM = "rejected_records"


def pause(seconds: float, stop: threading.Event | None) -> None:
    """Wait between two attempts; returns early when the page walk stopped.

    A module-level function so tests can record the waits instead of sleeping.
    """
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


# --- timestamps ---------------------------------------------------------------------


def parse_timestamp(value: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp; a value without a zone is UTC (the API's clock)."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def canonical_timestamp(value: str) -> str:
    """Return `value` as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.

    The SDK compares bookmark values as strings; one fixed format makes string order
    equal time order whatever the source sent.
    """
    return parse_timestamp(value).isoformat(timespec="microseconds")


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_timestamp(value: object) -> bool:
    # Not RFC 3339's strict grammar: the API sends no zone (contract), which RFC 3339
    # would refuse; anything Python reads as ISO 8601 is accepted.
    return not isinstance(value, str) or bool(parse_timestamp(value))


# --- errors -------------------------------------------------------------------------


class RetriableResponseError(RetriableAPIError):
    """A response worth asking again for (5xx, 429, invalid body)."""

    def __init__(self, message: str, *, status: int | None, retry_after: float | None) -> None:
        """Keep the status for the final error and the server's Retry-After, if any."""
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RetriesExhaustedError(FatalAPIError):
    """Every attempt allowed by `max_retries` failed."""


class SourceChangedError(FatalAPIError):
    """The endpoint changed under every read allowed: no complete read was possible."""


class TooManyRejectsError(FatalAPIError):
    """More records broke the schema than `max_rejected_ratio` allows."""


_TRANSPORT_ERRORS = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,  # refused, reset, dropped mid-response
    requests.exceptions.ChunkedEncodingError,  # body cut short
    requests.exceptions.ContentDecodingError,
)


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def parse_envelope(response: requests.Response, number: int) -> Page:
    """Read a page envelope; a body that is not one is retriable (truncated, garbled)."""
    try:
        body = response.json()
    except ValueError as exc:  # requests' JSONDecodeError is a ValueError
        msg = f"invalid JSON body ({exc})"
        raise RetriableResponseError(msg, status=response.status_code, retry_after=None) from exc
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        msg = "body is not a page envelope (no `items` list)"
        raise RetriableResponseError(msg, status=response.status_code, retry_after=None)
    counts = {key: body.get(key) for key in ("total", "pages")}
    for key, value in counts.items():
        if value is not None and (not isinstance(value, int) or value < 0):
            msg = f"envelope field `{key}` is {value!r}, not a count"
            raise RetriableResponseError(msg, status=response.status_code, retry_after=None)
    return Page(number=number, items=body["items"], total=counts["total"], pages=counts["pages"])


# --- the stream ---------------------------------------------------------------------


class MoovitamixStream(RESTStream[int]):
    """One paginated GET endpoint of the MooVitamix API, read incrementally."""

    records_jsonpath = "$.items[*]"

    # The API has no server-side filter: every page is read and records not newer than
    # the bookmark are dropped here (`_admit`).
    replication_key = "updated_at"

    # The field that identifies a record at the source (the key properties add
    # `created_at`, see streams.py); used for duplicate and identity checks.
    id_field: t.ClassVar[str] = "id"

    # The SDK's conformance walks every value of every record (each of the ~70 track
    # ids of a listen history) to coerce Python types to JSON ones: ~40% of the tap's
    # CPU. Records here come from JSON and have passed `_problems` against the same
    # schema, so no value needs coercing; the one thing conformance also did, dropping
    # fields the schema does not know, is done by `_project`.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Start with empty counters (a sync replaces them, see `get_records`)."""
        super().__init__(*args, **kwargs)
        self.stats = StreamStats(self.name)
        self._unknown_fields_logged = False

    @property
    def is_sorted(self) -> bool:
        """Records are not in `updated_at` order, so the bookmark is provisional.

        With False the SDK keeps the running maximum in `progress_markers` and promotes
        it to `replication_key_value` only when the stream ends without error: a run
        that dies mid-stream leaves the previous bookmark in place.
        """
        return False

    def get_replication_key_signpost(self, context: Context | None = None) -> None:  # noqa: ARG002
        """Do not cap the bookmark at the tap's clock.

        The SDK's default signpost (now) would lower a bookmark taken from timestamps
        of the source's clock when they are ahead of ours; every such record would then
        be re-sent on every run. The bookmark is the maximum `updated_at` of a
        complete read, nothing else.
        """
        return

    # --- settings -----------------------------------------------------------------

    @property
    def url_base(self) -> str:
        """Return the API root; a trailing slash on the setting is dropped."""
        return str(self.config["api_url"]).rstrip("/")

    @property
    def http_headers(self) -> dict[str, str]:
        """User-Agent always, a bearer token when `auth_token` is set."""
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if token := self.config.get("auth_token"):
            headers["Authorization"] = f"Bearer {token}"
        return headers

    @property
    def timeout(self) -> int:
        """Seconds to wait for a connection or for data (`request_timeout`)."""
        return self.config["request_timeout"]

    @cached_property
    def session(self) -> requests.Session:
        """One session for the stream, with a connection per concurrent request."""
        session = requests.Session()
        size = max(10, int(self.config["max_concurrent_requests"]))
        adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    # --- HTTP: one validation and retry policy --------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        """Classify a response: retriable (429, 5xx) or fatal (other 4xx)."""
        status = response.status_code
        if status < 400:
            return
        where = f"GET {response.request.url if response.request else self.path}"
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RetriableResponseError(
                f"HTTP {status} {response.reason}", status=status, retry_after=retry_after
            )
        if status == 401:
            msg = (
                f"{where} answered HTTP 401 Unauthorized: bad or missing token "
                "(setting auth_token, env TAP_MOOVITAMIX_AUTH_TOKEN)"
            )
            raise FatalAPIError(msg)
        body = response.text[:300]
        msg = f"{where} answered HTTP {status} {response.reason} (not retried): {body}"
        raise FatalAPIError(msg)

    def _wait_before_retry(self, attempt: int, error: Exception) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        The server's Retry-After wins when it sent one (capped by
        `backoff_max_seconds`, so a bad header cannot stall the daily run);
        otherwise exponential backoff with "equal jitter": half the delay is fixed,
        half random, so concurrent requests do not retry in lockstep.
        """
        cap = float(self.config["backoff_max_seconds"])
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, cap)
        delay = min(cap, float(self.config["backoff_base_seconds"]) * 2 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def fetch_page(self, number: int, stop: threading.Event | None = None) -> Page:
        """GET page `number`, retrying transient faults; the only HTTP call of the tap.

        `stop` is set by the page walk when this page is no longer wanted: no further
        attempt is made then.
        """
        request = requests.Request(
            "GET",
            f"{self.url_base}{self.path}",
            params={"page": number, "size": self.config["page_size"]},
            headers=self.http_headers,
        )
        prepared = self.session.prepare_request(request)
        attempts = int(self.config["max_retries"]) + 1
        last_error: Exception | None = None
        for attempt in range(1, attempts + 1):
            if stop is not None and stop.is_set():
                raise WalkStoppedError(prepared.url)
            try:
                response = self.session.send(prepared, timeout=self.timeout)
                self.validate_response(response)
                return parse_envelope(response, number)
            except (RetriableResponseError, *_TRANSPORT_ERRORS) as error:
                last_error = error
                self.stats.count_failed_attempt(
                    status=getattr(error, "status", None), retried=attempt < attempts
                )
                if attempt == attempts:
                    break
                wait = self._wait_before_retry(attempt, error)
                self.logger.warning(
                    "GET %s: %s (attempt %d of %d); retrying in %.2f s",
                    prepared.url,
                    _describe(error),
                    attempt,
                    attempts,
                    wait,
                )
                pause(wait, stop)
        status = getattr(last_error, "status", None)
        msg = (
            f"GET {prepared.url} failed after {attempts} attempts "
            f"(max_retries={attempts - 1}); last status: "
            f"{status if status is not None else 'no response'}; "
            f"last error: {_describe(last_error)}"
        )
        raise RetriesExhaustedError(msg) from last_error

    # --- records ------------------------------------------------------------------

    @cached_property
    def _validator(self) -> Draft7Validator:
        return Draft7Validator(self.schema, format_checker=_FORMATS)

    def get_records(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Yield the records of one complete, consistent read, newer than the bookmark.

        Logs `event=stream_complete` with the stream's counters when it ends, or
        `event=stream_failed` (and re-raises) when it cannot.
        """
        self.stats = StreamStats(self.name)
        try:
            yield from self._read_until_whole(context)
        except Exception as error:
            self.logger.error(self.stats.summary("stream_failed", error=type(error).__name__))
            raise
        self.logger.info(self.stats.summary("stream_complete"))

    def _read_until_whole(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """Read until one read is whole.

        A read that finds the source shifting is done again from page 1, at most
        `max_shift_rereads` times (records already sent are sent again: the target
        upserts them by key). A read that finds another universe than last run's (ids
        redrawn) is redone with the bookmark ignored, so no record of the new universe
        is dropped as "old". A bookmark taken from another source is ignored from the
        start.
        """
        ignore_bookmark = self._read_elsewhere(context)
        shifts: list[SourceShiftedError] = []
        max_rereads = int(self.config["max_shift_rereads"])
        while True:
            try:
                yield from self._read(context, ignore_bookmark=ignore_bookmark)
            except SourceShiftedError as error:
                shifts.append(error)
                if len(shifts) > max_rereads:
                    raise SourceChangedError(_shift_message(self.name, shifts)) from error
                self.stats.rereads += 1
                self.logger.warning(
                    "%s; reading %s again from page 1 (re-read %d of at most %d, "
                    "setting max_shift_rereads)",
                    error,
                    self.name,
                    len(shifts),
                    max_rereads,
                )
            except _UniverseChanged as change:
                self.logger.warning(
                    "%s: %s; reading it again with the bookmark ignored", self.name, change
                )
                ignore_bookmark = True
            else:
                return

    def _read(self, context: Context | None, *, ignore_bookmark: bool) -> Iterator[dict]:
        """One read of the endpoint, from page 1 to the end, with every check."""
        ledger = ReadLedger(self.path)
        bookmark = None if ignore_bookmark else self._bookmark(context)
        start_date = self.config.get("start_date")
        floor = parse_timestamp(start_date) if start_date else None
        known = {} if ignore_bookmark else self._identity_sample(context)
        sample: dict[str, str] = {}
        seen_known: set[str] = set()
        # Rejects and records read count per read: a re-read sends the same ones again.
        self.stats.rejected = 0
        self.stats.read = 0
        progress_every = int(self.config["progress_every_pages"])
        counter = self.get_http_request_counter()
        counter.with_context(context)

        walk = walk_pages(
            self.fetch_page,
            page_size=int(self.config["page_size"]),
            max_concurrent=int(self.config["max_concurrent_requests"]),
        )
        # closing(): a failure below ends the walk (and its requests) at once.
        with counter, contextlib.closing(walk) as pages:
            for page in pages:
                counter.increment()
                self.stats.pages += 1
                ledger.observe_page(page)
                self.stats.read = ledger.records_read
                if ledger.pages_read % progress_every == 0:
                    self._log_progress(ledger)
                for record in page.items:
                    if not isinstance(record, dict):
                        self.stats.rejected += 1
                        self._reject(record, f"not a JSON object: {type(record).__name__}")
                        continue
                    record_id = record.get(self.id_field)
                    if ledger.observe_id(record_id, page.number, record):
                        continue  # the same record served twice: loaded once
                    # Identity: same id, other created_at = the ids were redrawn.
                    key = _identity_key(record_id)
                    if key in known:
                        if known[key] != record.get("created_at"):
                            msg = (
                                f"id {record_id} has created_at {record.get('created_at')}, "
                                f"was {known[key]} last run (ids redrawn)"
                            )
                            raise _UniverseChanged(msg)
                        seen_known.add(key)
                    elif len(sample) < IDENTITY_SAMPLE_SIZE and _usable_identity(record_id, record):
                        sample[key] = record["created_at"]
                    if not _newer(record, bookmark, floor, self.replication_key):
                        continue
                    reason = self._problems(record)
                    if reason:
                        self.stats.rejected += 1
                        self._reject(record, reason)
                        continue
                    self.stats.emitted += 1
                    yield self._project(record)
        self.stats.read = ledger.records_read  # repeats skipped on the last page deducted
        if ledger.pages_read % progress_every:
            self._log_progress(ledger)  # the last page, unless it was just logged
        ledger.finish()
        if known and not seen_known:
            msg = f"none of the {len(known)} ids remembered from last run was read"
            raise _UniverseChanged(msg)
        self._check_rejects(self.stats.rejected, ledger.records_read)
        # Remembered ids that were read again stay in the sample; new ones fill it up.
        sample = {**{k: v for k, v in known.items() if k in seen_known}, **sample}
        sample = dict(list(sample.items())[:IDENTITY_SAMPLE_SIZE])
        # Written into the stream's state, which the SDK emits when the stream ends.
        state = self.get_context_state(context)
        state["source"] = self.url_base
        if sample:
            state["identity_sample"] = sample

    def _log_progress(self, ledger: ReadLedger) -> None:
        first = ledger.first
        pages_total = planned_last_page(first, int(self.config["page_size"])) if first else None
        self.logger.info(
            format_event(
                "progress",
                stream=self.name,
                pages_read=ledger.pages_read,
                pages_total=pages_total,
                records=ledger.records_read,
                total=first.total if first else None,
            )
        )

    @cached_property
    def _property_names(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    def _project(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Drop fields the schema does not know (what the SDK's conformance did)."""
        if self._property_names.issuperset(record):
            return record
        unknown = sorted(set(record) - self._property_names)
        if not self._unknown_fields_logged:
            self.logger.warning("%s: fields not in the schema are dropped: %s", self.name, unknown)
            self._unknown_fields_logged = True
        return {name: value for name, value in record.items() if name in self._property_names}

    def _read_elsewhere(self, context: Context | None) -> bool:
        """Whether the bookmark was taken from another source than `api_url`.

        A bookmark of another source (or of a read that did not say which) says nothing
        of this source's records, so the stream is read in full.
        """
        state = self.get_context_state(context)
        if not state.get("replication_key_value") or state.get("source") == self.url_base:
            return False
        self.logger.warning(
            "%s: the bookmark was written for source %s, not %s; reading it in full",
            self.name,
            state.get("source", "(not recorded)"),
            self.url_base,
        )
        return True

    def _bookmark(self, context: Context | None) -> dt.datetime | None:
        """Return the bookmark of the last completed read (not start_date: see `_newer`)."""
        state = self.get_context_state(context)
        value = state.get("replication_key_value")
        if value and state.get("replication_key") == self.replication_key:
            return parse_timestamp(str(value))
        return None

    def _identity_sample(self, context: Context | None) -> dict[str, str]:
        sample = self.get_context_state(context).get("identity_sample")
        return dict(sample) if isinstance(sample, dict) else {}

    @cached_property
    def _quick_check(self) -> t.Callable[[dict[str, t.Any]], bool] | None:
        return quick_checker(self.schema)

    def _problems(self, record: dict[str, t.Any]) -> str | None:
        """Return why `record` breaks the stream's schema, or None if it does not."""
        # jsonschema costs ~0.1 ms a record, ~0.8 ms a 70-item history: most of the
        # tap's CPU. The quick check only ever answers "valid" when jsonschema would.
        quick = self._quick_check
        if quick is not None and quick(record):
            return None
        if self._validator.is_valid(record):
            return None
        return "; ".join(
            f"{'/'.join(map(str, error.absolute_path)) or '(record)'}: {error.message}"
            for error in self._validator.iter_errors(record)
        )

    def _reject(self, record: t.Any, reason: str) -> None:
        """Send a record that breaks the schema to `rejected_records`, not to its stream."""
        payload = json.dumps(record, sort_keys=True, default=str)
        record_id = record.get(self.id_field) if isinstance(record, dict) else None
        self.logger.warning("%s: rejected record %s: %s", self.name, record_id, reason)
        rejected_stream = self._tap.streams.get(REJECTED_STREAM)
        if rejected_stream is None or not rejected_stream.selected:
            return  # still counted towards max_rejected_ratio by the caller
        rejected_stream.emit(  # type: ignore[attr-defined]
            {
                "stream": self.name,
                "record_key": None if record_id is None else json.dumps(record_id),
                "payload": payload,
                "payload_sha256": hashlib.sha256(payload.encode()).hexdigest(),
                "reason": reason,
                "run_id": self._tap.run_id,  # type: ignore[attr-defined]
                "rejected_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            }
        )

    def _check_rejects(self, rejected: int, read: int) -> None:
        ratio = float(self.config["max_rejected_ratio"])
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
        value = latest_record[self.replication_key]
        super()._increment_stream_state(
            {self.replication_key: canonical_timestamp(value)}, context=context
        )


_INT_ONLY = frozenset({int})

# JSON schema type -> the one Python type `json` gives it. Exact types: a bool is not
# an integer; 1.0 is left to jsonschema.
_QUICK_TYPES: dict[str, type] = {"integer": int, "string": str, "array": list, "null": type(None)}


@dataclass(frozen=True)
class _QuickProperty:
    name: str
    types: frozenset[type]
    pattern: re.Pattern[str] | None
    is_timestamp: bool
    int_items: bool

    def accepts(self, value: t.Any) -> bool:
        kind = type(value)
        if kind not in self.types:
            return False
        if kind is str:
            if self.pattern is not None and not self.pattern.search(value):
                return False
            if self.is_timestamp:
                try:
                    parse_timestamp(value)
                except ValueError:
                    return False
        if self.int_items and kind is list:
            # Loops in C: ~70 items per listen history. `bool` is not `int` here.
            return set(map(type, value)) <= _INT_ONLY
        return True


def quick_checker(schema: dict[str, t.Any]) -> t.Callable[[dict[str, t.Any]], bool] | None:
    """Build a fast validity test for the flat schemas of this tap, or None if it cannot.

    It knows `required`, `type`, `pattern`, `format: date-time` and arrays of integers;
    a schema with any other keyword gets no quick check. It may answer False for a valid
    record (jsonschema then decides) but never True for an invalid one.
    """
    if set(schema) - {"type", "properties", "required"} or schema.get("type") != "object":
        return None
    properties = []
    for name, prop in schema.get("properties", {}).items():
        quick = _quick_property(name, prop)
        if quick is None:
            return None
        properties.append(quick)
    required = tuple(schema.get("required", ()))

    def check(record: dict[str, t.Any]) -> bool:
        # One call per record, one loop over the properties: this runs for every record.
        for name in required:
            if name not in record:
                return False
        for prop in properties:
            if prop.name in record and not prop.accepts(record[prop.name]):
                return False  # (absence is `required`'s business)
        return True

    return check


def _quick_property(name: str, prop: dict[str, t.Any]) -> _QuickProperty | None:
    if set(prop) - {"type", "format", "pattern", "items"}:
        return None
    types = prop.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if not types or any(kind not in _QUICK_TYPES for kind in types):
        return None
    item_schema = prop.get("items")
    if item_schema is not None and item_schema != {"type": "integer"}:
        return None
    if prop.get("format") not in {None, "date-time"}:
        return None
    return _QuickProperty(
        name=name,
        types=frozenset(_QUICK_TYPES[kind] for kind in types),
        pattern=re.compile(prop["pattern"]) if "pattern" in prop else None,
        is_timestamp=prop.get("format") == "date-time",
        int_items=item_schema is not None,
    )


class _UniverseChanged(Exception):
    """The source's ids were redrawn since the last run (the application restarted)."""


def _newer(
    record: dict[str, t.Any],
    bookmark: dt.datetime | None,
    floor: dt.datetime | None,
    replication_key: str,
) -> bool:
    """Keep records strictly newer than the bookmark and not older than start_date.

    A record whose timestamp cannot be read is kept, so that validation rejects it
    with a reason instead of it vanishing here.
    """
    if bookmark is None and floor is None:
        return True
    value = record.get(replication_key)
    try:
        when = parse_timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True
    if bookmark is not None and when <= bookmark:
        return False
    return floor is None or when >= floor


def _identity_key(record_id: t.Any) -> str:
    # The JSON text of the id (how the state stores it); str() is the same text for an
    # int and 10x cheaper than json.dumps, which runs once per record.
    return str(record_id) if type(record_id) is int else json.dumps(record_id)


def _shift_message(stream: str, shifts: list[SourceShiftedError]) -> str:
    reads = len(shifts)
    return (
        f"stream {stream}: the source changed while being read, {reads} reads in a row "
        f"(max_shift_rereads={reads - 1}): " + "; then ".join(map(str, shifts)) + "; stopping "
        "rather than loading a read with a hole (the bookmark is not advanced)"
    )


def _usable_identity(record_id: t.Any, record: dict[str, t.Any]) -> bool:
    return isinstance(record_id, (int, str)) and isinstance(record.get("created_at"), str)


def _describe(error: Exception | None) -> str:
    if error is None:
        return "none"
    return f"{type(error).__name__}: {error}"
