"""The MooVitamix tap: settings, their validation and the stream list."""

from __future__ import annotations

import contextlib
import typing as t
import uuid
from functools import cached_property
from urllib.parse import urlsplit

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import JSONSchemaValidator

from tap_moovitamix import rejects, streams
from tap_moovitamix.output import BufferedSingerWriter
from tap_moovitamix.records import parse_timestamp

STREAM_TYPES: tuple[type[Stream], ...] = (
    # First, so its SCHEMA message precedes any reject the other streams emit.
    rejects.RejectedRecordsStream,
    # The costliest stream for the target to load (an array per record) goes first:
    # target-postgres loads each batch while the tap goes on reading (output.py), and
    # only the last stream's last batch is loaded after the tap is done.
    streams.ListenHistoryStream,
    streams.TracksStream,
    streams.UsersStream,
)

ENV_PREFIX = "TAP_MOOVITAMIX_"


class TapMoovitamix(Tap):
    """Singer tap for the MooVitamix API."""

    name = "tap-moovitamix"
    message_writer_class = BufferedSingerWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            default="http://127.0.0.1:8000",
            title="API URL",
            description="Root URL of the MooVitamix API (http or https); a trailing slash "
            "is accepted.",
        ),
        th.Property(
            "page_size",
            # The API answers 422 outside 1..100; reject such values before any request.
            th.IntegerType(minimum=1, maximum=100),
            default=100,
            title="Page size",
            description="Records requested per page (the API's `size` parameter, 1..100).",
        ),
        th.Property(
            "start_date",
            th.StringType,
            title="Start date",
            description="ISO 8601 date or date-time (UTC if no zone): records updated "
            "before it are not extracted. Unset: everything.",
        ),
        th.Property(
            "auth_token",
            th.StringType,
            secret=True,
            title="Bearer token",
            description="Sent as `Authorization: Bearer <token>` when set.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType(exclusive_minimum=0, maximum=3600),
            default=30,
            title="Request timeout (s)",
            description="Seconds to wait for a connection or for data before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0, maximum=20),
            default=5,
            title="Max retries",
            description="Retries of a request after its first attempt (5xx, 429, "
            "timeouts, dropped connections, invalid JSON) before the run fails.",
        ),
        th.Property(
            "backoff_base_seconds",
            th.NumberType(minimum=0, maximum=600),
            default=1.0,
            title="Backoff base (s)",
            description="First retry delay; doubles at each retry, with jitter.",
        ),
        th.Property(
            "backoff_max_seconds",
            th.NumberType(minimum=0, maximum=3600),
            default=60.0,
            title="Backoff cap (s)",
            description="Longest wait between two attempts, Retry-After included.",
        ),
        th.Property(
            "user_agent",
            th.StringType(min_length=1),
            default="tap-moovitamix/0.1.0",
            title="User-Agent",
            description="User-Agent header of every request.",
        ),
        th.Property(
            "max_rejected_ratio",
            th.NumberType(minimum=0, maximum=1),
            default=0.01,
            title="Max rejected ratio",
            description="Share of a stream's records that may break the schema (they go "
            "to rejected_records) before the run fails.",
        ),
        th.Property(
            "max_concurrent_requests",
            th.IntegerType(minimum=1, maximum=32),
            default=4,
            title="Max concurrent requests",
            description="Pages of one stream fetched at the same time (1 = one by one).",
        ),
        th.Property(
            "max_shift_rereads",
            th.IntegerType(minimum=0, maximum=10),
            default=1,
            title="Max re-reads of a shifting source",
            description="Times a stream is read again from page 1 when the source changed "
            "while being read (0 = fail at once) before the run fails.",
        ),
        th.Property(
            "progress_every_pages",
            th.IntegerType(minimum=1),
            default=100,
            title="Progress log interval (pages)",
            description="Pages between two `event=progress` log lines of a stream.",
        ),
        th.Property(
            "run_id",
            # Empty counts as unset: Meltano expands an unset ${VAR} to "".
            th.StringType,
            title="Run id",
            description="Written on every rejected record; unset: a new UUID per run.",
        ),
    ).to_dict()

    @cached_property
    def run_id(self) -> str:
        """Identify this run in rejected_records (the orchestrator may set its own)."""
        return str(self.config.get("run_id") or uuid.uuid4())

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Check every setting and report every problem in ONE message.

        The SDK would log one line per schema error, without the env var to fix; this
        also checks what JSON schema cannot say (a usable URL, a parsable date).
        """
        self.append_builtin_config(self.config_jsonschema)
        _coerce_numbers(self._config, self.config_jsonschema)
        problems = [
            f"{_setting_name(error.absolute_path)}: {error.message}"
            for error in JSONSchemaValidator(self.config_jsonschema).iter_errors(self._config)
        ]
        problems += _semantic_problems(self._config)
        if problems and raise_errors:
            message = "invalid tap-moovitamix settings: " + "; ".join(problems)
            raise ConfigValidationError(message, errors=[message], schema=self.config_jsonschema)
        return problems

    def sync_all(self) -> None:
        """Sync every selected stream; queued messages are written even on failure."""
        with self._output_flushed():
            super().sync_all()

    def run_sync_dry_run(self, *args: t.Any, **kwargs: t.Any) -> bool:
        """Run the SDK's test sync (a few records a stream), flushed like `sync_all`."""
        with self._output_flushed():
            return super().run_sync_dry_run(*args, **kwargs)

    @contextlib.contextmanager
    def _output_flushed(self) -> t.Iterator[None]:
        # The writer queues output for a thread of its own (output.py): wait for it.
        try:
            yield
        finally:
            self.message_writer.flush()  # type: ignore[attr-defined]

    def discover_streams(self) -> list[Stream]:
        """Return one instance of each stream."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]


def _setting_name(path: t.Iterable[t.Any]) -> str:
    parts = list(path)
    if not parts:
        return "settings"
    name = str(parts[0])
    return f"{name} (env {ENV_PREFIX}{name.upper()})"


def _coerce_numbers(config: dict[str, t.Any], schema: dict[str, t.Any]) -> None:
    # The SDK turns env vars into integers and booleans but leaves numbers as text
    # ("0.5"); read them as numbers so TAP_MOOVITAMIX_MAX_REJECTED_RATIO=0.5 works.
    for name, prop in schema.get("properties", {}).items():
        value = config.get(name)
        if isinstance(value, str) and "number" in (prop.get("type") or []):
            # Left as text when unreadable: validation then names the setting.
            with contextlib.suppress(ValueError):
                config[name] = float(value)


def _semantic_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    problems = []
    api_url = config.get("api_url")
    if isinstance(api_url, str):
        parts = urlsplit(api_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            problems.append(f"{_setting_name(['api_url'])}: {api_url!r} is not an http(s) URL")
    start_date = config.get("start_date")
    if isinstance(start_date, str) and start_date:  # "" = unset (an empty ${VAR})
        try:
            parse_timestamp(start_date)
        except ValueError:
            problems.append(
                f"{_setting_name(['start_date'])}: {start_date!r} is not an ISO 8601 "
                "date or date-time"
            )
    return problems


if __name__ == "__main__":
    TapMoovitamix.cli()
