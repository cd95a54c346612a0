"""Page-number pagination for the MooVitamix API (fastapi-pagination envelopes)."""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import PageNumberPaginator

if t.TYPE_CHECKING:
    import requests

FIRST_PAGE = 1


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
