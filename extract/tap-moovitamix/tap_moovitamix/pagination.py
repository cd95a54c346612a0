"""Page-number pagination for the MooVitamix API (fastapi-pagination envelopes).

Two pieces live here:

- `walk_pages`: reads `?page=1,2,3,...` and yields pages strictly in page order. Once
  page 1 announces how many pages there are, the following pages are fetched
  concurrently, a bounded number at a time (a sliding window), so memory holds at most
  `max_concurrent` pages whatever the size of the endpoint.
- `ReadLedger`: the integrity checks of one read of an endpoint. It notices a source
  that changed while being read (another `total` or `pages` on a later page, a record
  id seen twice, fewer or more records than `total`) and raises `SourceShiftedError`,
  so a read never ends silently with a hole in it.

`MoovitamixPaginator` is the SDK-style paginator with the same stop rules, kept for
callers that walk pages one at a time.
"""

from __future__ import annotations

import collections
import math
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from singer_sdk.pagination import PageNumberPaginator

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

FIRST_PAGE = 1
_ABSENT = object()


@dataclass(frozen=True)
class Page:
    """One page as served: its number (the one we asked for) and its envelope."""

    number: int
    items: list[t.Any]
    total: int | None
    pages: int | None


class WalkStoppedError(Exception):
    """Raised in a worker whose page is no longer wanted (the walk ended early)."""


class SourceShiftedError(Exception):
    """The endpoint changed while it was being read: what was read may have a hole."""


def planned_last_page(first: Page, page_size: int) -> int | None:
    """Return the last page to read, as announced by page 1, or None if unknown.

    `pages` is the API's own answer; without it, `total` and the page size give the
    same number. With neither, the walk goes on until an empty page.
    """
    if first.pages is not None:
        return first.pages
    if first.total is not None:
        return math.ceil(first.total / page_size)
    return None


def walk_pages(
    fetch: Callable[[int, threading.Event], Page],
    *,
    page_size: int,
    max_concurrent: int,
) -> Iterator[Page]:
    """Yield every page of an endpoint in page order, fetching ahead concurrently.

    Stops after the last page announced by page 1, or at the first empty page
    (a page past the end answers 200 with no items), whichever comes first. Pages
    fetched ahead of an empty page are dropped unread: the ledger's count check says
    whether anything was missed.

    `fetch(number, stop)` must give up (raise) soon after `stop` is set: it is set when
    the walk ends early, so no request outlives the walk. Close the generator
    (`contextlib.closing`) to end the walk at once when the consumer fails.
    """
    stop = threading.Event()
    first = fetch(FIRST_PAGE, stop)
    yield first
    if not first.items:
        return
    last = planned_last_page(first, page_size)
    if last is None or max_concurrent <= 1:
        yield from _walk_sequentially(fetch, stop, last)
        return
    yield from _walk_concurrently(fetch, stop, last, max_concurrent)


def _walk_sequentially(
    fetch: Callable[[int, threading.Event], Page], stop: threading.Event, last: int | None
) -> Iterator[Page]:
    number = FIRST_PAGE + 1
    while last is None or number <= last:
        page = fetch(number, stop)
        yield page
        if not page.items:
            return
        number += 1


def _walk_concurrently(
    fetch: Callable[[int, threading.Event], Page],
    stop: threading.Event,
    last: int,
    max_concurrent: int,
) -> Iterator[Page]:
    # A window of at most `max_concurrent` pages in flight or waiting to be consumed:
    # the consumer takes the oldest one (page order), which frees a slot for the next.
    window: collections.deque[Future[Page]] = collections.deque()
    next_number = FIRST_PAGE + 1
    executor = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="page")
    try:
        while True:
            while next_number <= last and len(window) < max_concurrent:
                window.append(executor.submit(fetch, next_number, stop))
                next_number += 1
            if not window:
                return
            page = window.popleft().result()
            yield page
            if not page.items:
                return
    finally:
        # An early stop (empty page, error, consumer gone) must not leave requests
        # running behind the walk: tell workers to give up, drop what has not started,
        # and wait for the (at most one request each) that are running.
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)


class ReadLedger:
    """Integrity checks of one complete read of one endpoint."""

    def __init__(self, endpoint: str) -> None:
        """Start an empty ledger for `endpoint` (used in error messages)."""
        self.endpoint = endpoint
        self.first: Page | None = None
        self.records_read = 0
        self.pages_read = 0
        # id -> page it was first seen on: a second sighting means items moved, unless
        # it is an identical repeat of a record of the previous page (`observe_id`).
        self._seen: dict[t.Hashable, int] = {}
        # Records of the page being read and of the one before (bounded memory).
        self._current: dict[t.Hashable, t.Any] = {}
        self._previous: dict[t.Hashable, t.Any] = {}
        # Identical records served again (skipped).
        self.repeats = 0

    def observe_page(self, page: Page) -> None:
        """Check a page's envelope against page 1's and count its records."""
        self.pages_read += 1
        self.records_read += len(page.items)
        self._previous, self._current = self._current, {}
        if self.first is None:
            self.first = page
            return
        if page.total != self.first.total or page.pages != self.first.pages:
            msg = (
                f"{self.endpoint}: page {page.number} announces total={page.total}, "
                f"pages={page.pages} but page {self.first.number} announced "
                f"total={self.first.total}, pages={self.first.pages}"
            )
            raise SourceShiftedError(msg)

    def observe_id(self, record_id: t.Any, page_number: int, record: t.Any = None) -> bool:
        """Check a record id against this read; return True for a repeat to skip.

        A record of the previous page (or of this one) read again exactly as it was is
        a repeat: the API sent the previous page's last record once more (that page
        then holds one record more). It is skipped and not counted, so `finish` still
        compares the number of distinct records with `total`: a repeat that took
        another record's place leaves the count short and is caught there. The same id
        with another content, or from further back, means the source changed.
        """
        if record_id is None or isinstance(record_id, (dict, list)):
            return False  # unusable id: such a record is rejected by validation instead
        first_page = self._seen.get(record_id)
        if first_page is not None:
            recent = self._current.get(record_id, self._previous.get(record_id, _ABSENT))
            if record is not None and recent == record:
                self.records_read -= 1
                self.repeats += 1
                return True
            msg = (
                f"{self.endpoint}: record id {record_id!r} read twice "
                f"(pages {first_page} and {page_number})"
            )
            raise SourceShiftedError(msg)
        self._seen[record_id] = page_number
        self._current[record_id] = record
        return False

    def finish(self) -> None:
        """Fail unless the number of records read equals the `total` announced."""
        if self.first is None or self.first.total is None:
            return
        if self.records_read != self.first.total:
            msg = (
                f"{self.endpoint}: read {self.records_read} records in "
                f"{self.pages_read} pages but the API announced total={self.first.total}"
            )
            raise SourceShiftedError(msg)


class MoovitamixPaginator(PageNumberPaginator):
    """Walk `?page=1,2,3,...` until the API says there is nothing left.

    Every response is an envelope `{"items": [...], "total", "page", "size", "pages"}`.
    Reading stops when a page's `items` is empty (a page past the end answers 200 with
    no items) or when the page just read is the last one announced by `pages`.

    `singer_sdk.pagination.BasePageNumberPaginator` is deprecated in singer-sdk 0.54
    in favour of `PageNumberPaginator`, which is the same class, so this subclasses it.
    """

    def __init__(self, start_value: int = FIRST_PAGE) -> None:
        """Start at page 1: the API rejects page 0 with a 422."""
        super().__init__(start_value)

    def has_more(self, response: requests.Response) -> bool:
        """Tell whether another page must be requested after `response`."""
        body = response.json()
        if not body.get("items"):
            # Past the end: the API answers 200 with an empty list.
            return False
        pages = body.get("pages")
        if isinstance(pages, int):
            # The page we asked for, not the envelope's `page`, so a server that
            # echoed a wrong page number could not make us skip or repeat pages.
            return self.current_value < pages
        # No usable `pages`: keep going; the next, empty page ends the walk.
        return True
