"""The MooVitamix streams: one class per endpoint (`rejected_records` is in rejects.py)."""

from __future__ import annotations

from singer_sdk import StreamSchema

from tap_moovitamix.client import MoovitamixStream
from tap_moovitamix.schemas import SCHEMAS_DIR

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
