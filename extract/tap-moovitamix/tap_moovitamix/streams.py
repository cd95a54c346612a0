"""The MooVitamix streams: one class per endpoint, plus `rejected_records`."""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, Stream, StreamSchema

from tap_moovitamix import schemas
from tap_moovitamix.client import REJECTED_STREAM, MoovitamixStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

# Schemas live in tap_moovitamix/schemas/<stream name>.json.
SCHEMAS_DIR = SchemaDirectory(schemas)

# Why `created_at` is part of every key: the client's application redraws ids when it
# restarts, so an id alone does not name one entity. With (id, created_at) a redrawn
# entity lands as a second row instead of silently overwriting the first; the
# warehouse flags ids with more than one created_at (identity conflicts).


class TracksStream(MoovitamixStream):
    """Tracks of the catalogue."""

    name = "tracks"
    path = "/tracks"
    primary_keys = ("id", "created_at")
    id_field = "id"
    schema = StreamSchema(SCHEMAS_DIR)


class UsersStream(MoovitamixStream):
    """Users of the application (first_name, last_name and email are personal data)."""

    name = "users"
    path = "/users"
    primary_keys = ("id", "created_at")
    id_field = "id"
    schema = StreamSchema(SCHEMAS_DIR)


class ListenHistoryStream(MoovitamixStream):
    """Per-user listen history: the track ids a user listened to.

    Track ids unknown to /tracks are not rejected: the tap cannot know the whole
    catalogue (it may read /tracks incrementally); the warehouse flags them.
    """

    name = "listen_history"
    path = "/listen_history"
    # One listen history per user, so the user id identifies the record.
    primary_keys = ("user_id", "created_at")
    id_field = "user_id"
    schema = StreamSchema(SCHEMAS_DIR)


class RejectedRecordsStream(Stream):
    """Records of the other streams that broke their schema, with the reason.

    It has no source of its own: the endpoint streams call `emit` as they read, so a
    reject is on its way to the warehouse even when the run then fails on the reject
    ratio. Key (stream, run_id, payload_sha256): the same bad record read twice in a
    run (a re-read) lands once; each run keeps its own rows.
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

    def emit(self, record: dict[str, t.Any]) -> None:
        """Write one reject now, preceded by this stream's SCHEMA message the first time."""
        if not self._schema_sent:
            self._write_schema_message()
            self._schema_sent = True
        self._write_record_message(record)
