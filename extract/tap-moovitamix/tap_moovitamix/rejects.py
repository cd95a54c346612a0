"""The `rejected_records` side stream: records of the other streams that broke their schema.

It has no source of its own: the endpoint streams hand it their rejects as they read
(`RejectedRecordsStream.reject`), so a reject is on its way to the warehouse even when
the run then fails on the reject ratio.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t

from singer_sdk import Stream, StreamSchema

from tap_moovitamix.schemas import SCHEMAS_DIR

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

REJECTED_STREAM = "rejected_records"


class RejectedRecordsStream(Stream):
    """Records of the other streams that broke their schema, with the reason.

    Key (stream, run_id, payload_sha256): the same bad record read twice in a run (a
    re-read) lands once; each run keeps its own rows.
    """

    name = REJECTED_STREAM
    primary_keys = ("stream", "run_id", "payload_sha256")
    schema = StreamSchema(SCHEMAS_DIR)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Start with no SCHEMA message sent."""
        super().__init__(*args, **kwargs)
        self._schema_sent = False

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:  # noqa: ARG002
        """Nothing to read: rejects are emitted by the other streams as they happen."""
        self._schema_sent = True  # the SDK sends the SCHEMA message before this runs
        return ()

    def reject(self, stream: str, record: t.Any, record_id: t.Any, reason: str) -> None:
        """Write one reject of `stream` now, preceded by this stream's SCHEMA the first time."""
        if not self._schema_sent:
            self._write_schema_message()
            self._schema_sent = True
        payload = json.dumps(record, sort_keys=True, default=str)
        self._write_record_message(
            {
                "stream": stream,
                "record_key": None if record_id is None else json.dumps(record_id),
                "payload": payload,
                "payload_sha256": hashlib.sha256(payload.encode()).hexdigest(),
                "reason": reason,
                "run_id": self._tap.run_id,  # type: ignore[attr-defined]
                "rejected_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            }
        )
