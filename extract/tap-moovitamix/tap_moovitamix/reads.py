"""Reading one stream until one read is whole, which the SDK's single pass cannot do.

A read walks every page (pagination.py) and checks itself (integrity.py). A source that
shifted while being read is read again from page 1, at most `max_shift_rereads` times,
then the stream fails rather than finishing with a hole. A source whose ids were
redrawn since the last run is read again with the bookmark ignored, so no record of the
new universe is dropped as "old"; a bookmark taken from another `api_url` (or from a
read that did not say which) is ignored from the start. Records already sent are sent
again: the target upserts them by key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing as t

from tap_moovitamix.errors import SourceChangedError
from tap_moovitamix.integrity import (
    IdentitySample,
    ReadIntegrity,
    SourceShiftedError,
    UniverseChangedError,
)
from tap_moovitamix.pagination import MoovitamixPaginator, walk_pages
from tap_moovitamix.progress import format_event
from tap_moovitamix.records import parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

    from tap_moovitamix.client import MoovitamixStream


def read_until_whole(stream: MoovitamixStream, context: Context | None) -> Iterator[dict]:
    """Yield the records of reads of `stream` until one is whole."""
    ignore_bookmark = _read_elsewhere(stream, context)
    shifts: list[Exception] = []
    max_rereads = int(stream.config["max_shift_rereads"])
    while True:
        try:
            yield from _read(stream, context, ignore_bookmark=ignore_bookmark)
        except SourceShiftedError as error:
            shifts.append(error)
            if len(shifts) > max_rereads:
                raise SourceChangedError.after(stream.name, shifts) from error
            stream.stats.rereads += 1
            stream.logger.warning(
                "%s; reading %s again from page 1 (re-read %d of at most %d, "
                "setting max_shift_rereads)",
                *(error, stream.name, len(shifts), max_rereads),
            )
        except UniverseChangedError as change:
            stream.logger.warning(
                "%s: %s; reading it again with the bookmark ignored", stream.name, change
            )
            ignore_bookmark = True
        else:
            return


def stored_bookmark(state: dict, replication_key: str) -> dt.datetime | None:
    """Return the bookmark of the last completed read, if it is of `replication_key`."""
    value = state.get("replication_key_value")
    if value and state.get("replication_key") == replication_key:
        return parse_timestamp(str(value))
    return None


def _read(
    stream: MoovitamixStream, context: Context | None, *, ignore_bookmark: bool
) -> Iterator[dict]:
    """One read of the endpoint, from page 1 to the end, with every check."""
    state = stream.get_context_state(context)
    integrity = ReadIntegrity(stream.path)
    known = state.get("identity_sample")
    identity = IdentitySample({} if ignore_bookmark or not isinstance(known, dict) else known)
    start_date = stream.config.get("start_date")
    stream.bounds = (
        None if ignore_bookmark else stored_bookmark(state, stream.replication_key),
        parse_timestamp(start_date) if start_date else None,  # "" = unset (an empty ${VAR})
    )
    stream.stats.rejected = stream.stats.read = 0  # per read: a re-read sends them again
    progress_every = int(stream.config["progress_every_pages"])
    paginator = stream.get_new_paginator()
    walk = walk_pages(
        stream.fetch_page, paginator, max_concurrent=int(stream.config["max_concurrent_requests"])
    )
    counter = stream.get_http_request_counter()
    counter.with_context(context)
    # closing(): a failure below ends the walk (and its requests) at once.
    with counter, contextlib.closing(walk) as pages:
        for page in pages:
            counter.increment()
            stream.stats.pages += 1
            integrity.observe_page(page)
            stream.stats.read = integrity.records_read
            if integrity.pages_read % progress_every == 0:
                _log_progress(stream, integrity, paginator)
            for record in page.items:
                if not isinstance(record, dict):
                    stream.reject(record, f"not a JSON object: {type(record).__name__}")
                    continue
                record_id = record.get(stream.id_field)
                if integrity.observe_id(record_id, page.number, record):
                    continue  # the same record served twice: loaded once
                identity.observe(record_id, record)
                yield record  # filtered and validated by the stream's `post_process`
    stream.stats.read = integrity.records_read  # repeats on the last page deducted
    if integrity.pages_read % progress_every:
        _log_progress(stream, integrity, paginator)  # the last page, unless just logged
    integrity.finish()
    sample = identity.finish()
    stream.check_rejects(integrity.records_read)
    # Written into the stream's state, which the SDK emits when the stream ends.
    state["source"] = stream.url_base
    if sample:
        state["identity_sample"] = sample


def _log_progress(
    stream: MoovitamixStream, integrity: ReadIntegrity, paginator: MoovitamixPaginator
) -> None:
    stream.logger.info(
        format_event(
            "progress",
            stream=stream.name,
            pages_read=integrity.pages_read,
            pages_total=paginator.last_page,
            records=integrity.records_read,
            total=integrity.first.total if integrity.first else None,
        )
    )


def _read_elsewhere(stream: MoovitamixStream, context: Context | None) -> bool:
    state = stream.get_context_state(context)
    if not state.get("replication_key_value") or state.get("source") == stream.url_base:
        return False
    stream.logger.warning(
        "%s: the bookmark was written for source %s, not %s; reading it in full",
        *(stream.name, state.get("source", "(not recorded)"), stream.url_base),
    )
    return True
