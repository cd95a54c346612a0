"""The MooVitamix tap: settings and stream list."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from tap_moovitamix import streams

STREAM_TYPES: tuple[type[streams.MoovitamixStream], ...] = (
    streams.TracksStream,
    streams.UsersStream,
    streams.ListenHistoryStream,
)


class TapMoovitamix(Tap):
    """Singer tap for the MooVitamix API."""

    name = "tap-moovitamix"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            default="http://127.0.0.1:8000",
            title="API URL",
            description="Root URL of the MooVitamix API; a trailing slash is accepted.",
        ),
        th.Property(
            "page_size",
            # The API answers 422 outside 1..100; reject such values before any request.
            th.IntegerType(minimum=1, maximum=100),
            default=100,
            title="Page size",
            description="Records requested per page (the API's `size` parameter, 1..100).",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """Return one instance of each stream."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]


if __name__ == "__main__":
    TapMoovitamix.cli()
