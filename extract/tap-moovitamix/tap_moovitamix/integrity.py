"""Checks that make a read trustworthy: whole, and of the ids of the last run.

- `ReadIntegrity` notices a source that changed while being read (another `total` or
  `pages` on a later page, a record id seen twice, fewer or more records than `total`)
  and raises `SourceShiftedError`, so a read never ends silently with a hole in it.
- `IdentitySample` compares a read with the `(id, created_at)` pairs kept from the last
  complete read: the client's application redraws its ids when it restarts, and a
  bookmark taken in another universe of ids would drop new records as "old".
"""

from __future__ import annotations

import json
import typing as t

if t.TYPE_CHECKING:
    from tap_moovitamix.pagination import Page

# How many (id -> created_at) pairs of a completed read are kept in the state.
IDENTITY_SAMPLE_SIZE = 20
_ABSENT = object()


class SourceShiftedError(Exception):
    """The endpoint changed while it was being read: what was read may have a hole."""


class UniverseChangedError(Exception):
    """The source's ids were redrawn since the last run (the application restarted)."""


class ReadIntegrity:
    """Integrity checks of one complete read of one endpoint."""

    def __init__(self, endpoint: str) -> None:
        """Start with nothing read from `endpoint` (named in error messages)."""
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

    def observe_id(self, record_id: t.Any, page_number: int, record: t.Any) -> bool:
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
            if recent == record:
                self.records_read -= 1
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


class IdentitySample:
    """`(id, created_at)` pairs of a read, against those remembered from the last run."""

    def __init__(self, known: dict[str, str]) -> None:
        """Compare with `known`, the sample the state kept (empty: nothing to compare)."""
        self.known = known
        self._seen_known: set[str] = set()
        self._new: dict[str, str] = {}

    def observe(self, record_id: t.Any, record: dict[str, t.Any]) -> None:
        """Raise `UniverseChangedError` when a remembered id has another `created_at`."""
        key = _identity_key(record_id)
        if key in self.known:
            if self.known[key] != record.get("created_at"):
                msg = (
                    f"id {record_id} has created_at {record.get('created_at')}, "
                    f"was {self.known[key]} last run (ids redrawn)"
                )
                raise UniverseChangedError(msg)
            self._seen_known.add(key)
        elif len(self._new) < IDENTITY_SAMPLE_SIZE and _usable(record_id, record):
            self._new[key] = record["created_at"]

    def finish(self) -> dict[str, str]:
        """Return the sample to keep; raise when none of the remembered ids came back."""
        if self.known and not self._seen_known:
            msg = f"none of the {len(self.known)} ids remembered from last run was read"
            raise UniverseChangedError(msg)
        # Remembered ids that were read again stay in the sample; new ones fill it up.
        kept = {k: v for k, v in self.known.items() if k in self._seen_known}
        return dict(list({**kept, **self._new}.items())[:IDENTITY_SAMPLE_SIZE])


def _identity_key(record_id: t.Any) -> str:
    # The JSON text of the id (how the state stores it); str() is the same text for an
    # int and 10x cheaper than json.dumps, which runs once per record.
    return str(record_id) if type(record_id) is int else json.dumps(record_id)


def _usable(record_id: t.Any, record: dict[str, t.Any]) -> bool:
    return isinstance(record_id, (int, str)) and isinstance(record.get("created_at"), str)
