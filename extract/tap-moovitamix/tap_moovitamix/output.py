"""How the tap writes Singer messages to stdout: msgspec encoding, a writer thread.

Measured at 100,000 records per endpoint, singer-sdk's default writer cost the tap a
fifth of its CPU: simplejson (~25 us a record) and a flush of stdout after every
message, one system call per record. Here messages are encoded with msgspec (~2 us),
gathered into blocks of `BLOCK_BYTES` and written by a thread of their own, through a
queue of at most `QUEUE_BLOCKS` blocks.

The queue is what lets the tap keep reading the API while the target is busy: the
target stops reading its input while it loads a batch into Postgres, and without the
queue the tap would wait on a full pipe for all that time. With it, the two overlap
(bounded: at most QUEUE_BLOCKS x BLOCK_BYTES of output held in memory).

Order is never changed: one queue, one writer, and a message that is not a RECORD
(SCHEMA, STATE, ...) is queued at once after the records before it. So the target sees
a STATE only after the records it covers; a run that dies loses at most a suffix of its
output, never a record whose STATE was delivered. `flush()` waits until everything
queued is written; the tap calls it when the sync ends, whether or not it raised, so
records emitted before a failure (rejects, for one) still reach the target. A failed
write (the target is gone) is raised in the tap's main thread at its next message.
"""

from __future__ import annotations

import datetime as dt
import queue
import sys
import threading
import typing as t

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerWriter, SingerMessageType

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.messages import Message

# Large enough to make writes rare, small enough to keep the target fed: ~200 tracks
# or ~70 listen histories.
BLOCK_BYTES = 64 * 1024
# 64 MiB of output at most: more than one target batch of 25,000 listen histories
# (~20 MB), so the tap need not wait while the target loads one.
QUEUE_BLOCKS = 1024


def _encode_other(value: object) -> object:
    # The SDK's own rule for types JSON lacks: ISO 8601 for datetimes, text otherwise.
    return value.isoformat(sep="T") if isinstance(value, dt.datetime) else str(value)


class BufferedSingerWriter(GenericSingerWriter[bytes, "Message"]):
    """Write Singer messages to stdout as JSON lines, in blocks, from a writer thread."""

    def __init__(self, stream: t.BinaryIO | None = None) -> None:
        """Write to `stream` (default: the process's stdout, as bytes)."""
        self._stream = stream
        self._encoder = msgspec.json.Encoder(enc_hook=_encode_other, decimal_format="number")
        self._pending = bytearray()
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def stream(self) -> t.BinaryIO:
        """Where lines go; stdout is looked up late so tests can capture it."""
        return self._stream if self._stream is not None else sys.stdout.buffer

    def serialize_message(self, message: Message) -> bytes:
        """Return one message as a JSON line."""
        return self._encoder.encode(message.to_dict()) + b"\n"

    def write_message(self, message: Message) -> None:
        """Gather a RECORD into the current block; queue anything else at once."""
        self._pending += self.format_message(message)
        if message.type != SingerMessageType.RECORD or len(self._pending) >= BLOCK_BYTES:
            self._queue_pending()

    def flush(self) -> None:
        """Return once every message so far is written to the stream and flushed."""
        self._queue_pending()
        self._queue.join()
        self._raise_if_failed()

    def _queue_pending(self) -> None:
        self._raise_if_failed()
        if not self._pending:
            return
        if self._thread is None:
            # A daemon: a tap that dies must not hang on it; `flush` is the orderly end.
            self._thread = threading.Thread(target=self._write_blocks, daemon=True)
            self._thread.start()
        self._queue.put(bytes(self._pending))  # blocks while the queue is full
        self._pending.clear()

    def _write_blocks(self) -> None:
        while True:
            block = self._queue.get()
            try:
                if self._error is None:  # after a failure, only empty the queue
                    self.stream.write(block)
                    self.stream.flush()
            except BaseException as error:  # handed to the main thread: see `_raise_if_failed`
                self._error = error
            finally:
                self._queue.task_done()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
