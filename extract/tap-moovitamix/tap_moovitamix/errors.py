"""Why a stream fails: each class names one cause in the `stream_failed` log event."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError

from tap_moovitamix.retries import describe, status_of


class RetriesExhaustedError(FatalAPIError):
    """Every attempt allowed by `max_retries` failed."""

    @classmethod
    def after(cls, url: str, attempts: int, error: BaseException) -> RetriesExhaustedError:
        """Name the request, the attempts made and the last failure."""
        status = status_of(error)
        return cls(
            f"GET {url} failed after {attempts} attempts (max_retries={attempts - 1}); "
            f"last status: {'no response' if status is None else status}; "
            f"last error: {describe(error)}"
        )


class SourceChangedError(FatalAPIError):
    """The endpoint changed under every read allowed: no complete read was possible."""

    @classmethod
    def after(cls, stream: str, shifts: list[Exception]) -> SourceChangedError:
        """Describe every read that found the source shifting (one more than allowed)."""
        reads = len(shifts)
        return cls(
            f"stream {stream}: the source changed while being read, {reads} reads in a row "
            f"(max_shift_rereads={reads - 1}): " + "; then ".join(map(str, shifts)) + "; "
            "stopping rather than loading a read with a hole (the bookmark is not advanced)"
        )


class TooManyRejectsError(FatalAPIError):
    """More records broke the schema than `max_rejected_ratio` allows."""
