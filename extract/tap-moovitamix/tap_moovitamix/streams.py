"""One stream class per MooVitamix endpoint."""

from __future__ import annotations

from singer_sdk import SchemaDirectory, StreamSchema

from tap_moovitamix import schemas
from tap_moovitamix.client import MoovitamixStream

# Schemas live in tap_moovitamix/schemas/<stream name>.json.
SCHEMAS_DIR = SchemaDirectory(schemas)


class TracksStream(MoovitamixStream):
    """Tracks of the catalogue."""

    name = "tracks"
    path = "/tracks"
    primary_keys = ("id",)
    schema = StreamSchema(SCHEMAS_DIR)


class UsersStream(MoovitamixStream):
    """Users of the application (first_name, last_name and email are personal data)."""

    name = "users"
    path = "/users"
    primary_keys = ("id",)
    schema = StreamSchema(SCHEMAS_DIR)


class ListenHistoryStream(MoovitamixStream):
    """Per-user listen history: the track ids a user listened to."""

    name = "listen_history"
    path = "/listen_history"
    # One listen history per user, so the user id identifies the record.
    primary_keys = ("user_id",)
    schema = StreamSchema(SCHEMAS_DIR)
