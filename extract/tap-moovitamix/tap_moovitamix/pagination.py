"""Page-number pagination of the MooVitamix API (fastapi-pagination envelopes).

`MoovitamixPaginator` is the stream's paginator (`get_new_paginator`): it holds the
stop rules. `walk_pages` drives it, which the SDK's own loop cannot do: once page 1 has
announced how many pages there are, the following pages are fetched concurrently, a
bounded number at a time (a sliding window), and still yielded strictly in page order,
so memory holds at most `max_concurrent` pages whatever the size of the endpoint.
"""

from __future__ import annotations

import collections
import math
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.pagination import PageNumberPaginator

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

# The API answers page 0 with a 422.
FIRST_PAGE = 1


@dataclass(frozen=True)
class Page:
    """One page as served: its number (the one we asked for) and its envelope."""

    number: int
    items: list[t.Any]
    total: int | None
    pages: int | None

    @classmethod
    def from_response(cls, response: requests.Response, number: int) -> Page:
        """Read a page envelope; a body that is not one is retriable (truncated, garbled)."""
        try:
            body = response.json()
        except ValueError as exc:  # requests' JSONDecodeError is a ValueError
            raise RetriableAPIError(f"invalid JSON body ({exc})", response) from exc
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise RetriableAPIError("body is not a page envelope (no `items` list)", response)
        counts = {key: body.get(key) for key in ("total", "pages")}
        for key, value in counts.items():
            if value is not None and (not isinstance(value, int) or value < 0):
                msg = f"envelope field `{key}` is {value!r}, not a count"
                raise RetriableAPIError(msg, response)
        return cls(number=number, items=body["items"], total=counts["total"], pages=counts["pages"])


class WalkStoppedError(Exception):
    """Raised in a worker whose page is no longer wanted (the walk ended early)."""


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


class MoovitamixPaginator(PageNumberPaginator):
    """Walk `?page=1,2,3,...` up to the last page page 1 announced, or to an empty page.

    A page past the end answers 200 with no items, so an empty page ends the walk even
    when the announced count is higher.
    """

    def __init__(self, page_size: int) -> None:
        """Start at page 1; the page size turns an announced `total` into a page count."""
        super().__init__(FIRST_PAGE)
        self.page_size = page_size
        self.last_page: int | None = None

    # The walk passes the page as parsed once, not the raw response the SDK's loop
    # would: parsing a page's JSON twice would cost ~1 ms a page.
    def has_more(self, response: Page) -> bool:  # type: ignore[override]
        """Tell whether another page must be requested after `response`."""
        if self.current_value == FIRST_PAGE:
            self.last_page = planned_last_page(response, self.page_size)
        if not response.items:
            return False
        # The page we asked for, not the envelope's `page`: a server that echoed a wrong
        # page number cannot make us skip or repeat pages.
        return self.last_page is None or self.current_value < self.last_page


def walk_pages(
    fetch: Callable[[int, threading.Event], Page],
    paginator: MoovitamixPaginator,
    *,
    max_concurrent: int,
) -> Iterator[Page]:
    """Yield every page of an endpoint in page order, fetching ahead concurrently.

    Pages fetched ahead of an empty page are dropped unread: the read's integrity check
    (integrity.py) says whether anything was missed.

    `fetch(number, stop)` must give up (raise) once `stop` is set: it is set when the
    walk ends early, so no request outlives the walk. Close the generator
    (`contextlib.closing`) to end the walk at once when the consumer fails.
    """
    stop = threading.Event()
    page = fetch(paginator.current_value, stop)
    paginator.advance(page)
    yield page
    if paginator.finished:
        return
    if paginator.last_page is not None and max_concurrent > 1:
        yield from _fetch_ahead(fetch, paginator, stop, paginator.last_page, max_concurrent)
        return
    while not paginator.finished:
        page = fetch(paginator.current_value, stop)
        paginator.advance(page)
        yield page


def _fetch_ahead(
    fetch: Callable[[int, threading.Event], Page],
    paginator: MoovitamixPaginator,
    stop: threading.Event,
    last: int,
    max_concurrent: int,
) -> Iterator[Page]:
    # A window of at most `max_concurrent` pages in flight or waiting to be consumed:
    # the consumer takes the oldest one (page order), which frees a slot for the next.
    window: collections.deque[Future[Page]] = collections.deque()
    next_number = paginator.current_value
    executor = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="page")
    try:
        while not paginator.finished:
            while next_number <= last and len(window) < max_concurrent:
                window.append(executor.submit(fetch, next_number, stop))
                next_number += 1
            page = window.popleft().result()
            paginator.advance(page)
            yield page
    finally:
        # An early stop (empty page, error, consumer gone) must not leave requests
        # running behind the walk: tell workers to give up, drop what has not started,
        # and wait for the (at most one request each) that are running.
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
