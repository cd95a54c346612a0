"""Structured events of one daily run: a key=value line on stderr and a JSON line on file.

Every event carries the run id. The JSON lines (`.logs/daily-<run_id>.jsonl`) are
always written, for log shippers; LOG_FORMAT=json also switches stderr to JSON lines,
for runners (CI, containers) whose log collector parses JSON.

A log file that cannot be written (a full disk) never hides what the run does: its
first failed write is said once on stderr and its later lines are dropped. A step's
output, kept on file only, fails the run then (LogUnwritable); an event, also printed on
stderr, does not, so the handling of a failure, which logs too, always goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from contextlib import suppress
from pathlib import Path
from typing import TextIO


class LogUnwritable(Exception):
    """A log file of the run cannot be written: one line naming the file and the cause."""

    def __init__(self, path: Path, problem: OSError) -> None:
        super().__init__(f"the run log {path} cannot be written: {problem.strerror or problem}")


class LogFile:
    """A log file appended line by line, each line flushed (`tail -f` and a watchdog see it
    at once). Its first failed write closes it and is said on `stream`; that write and
    every later one raise the same LogUnwritable without touching the disk again."""

    def __init__(self, path: Path, stream: TextIO = sys.stderr) -> None:
        self.path = path
        self.stream = stream
        self.failure: LogUnwritable | None = None
        self._file: TextIO | None = None

    def write(self, line: str) -> None:
        if self.failure:
            raise self.failure
        try:
            # Opened at its first line: on a full disk creating the file fails too, handled alike.
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as problem:
            raise self._give_up(problem) from problem

    def _give_up(self, problem: OSError) -> LogUnwritable:
        if self._file is not None:
            with suppress(OSError):  # what it still buffers cannot be written either
                self._file.close()
            self._file = None
        self.failure = LogUnwritable(self.path, problem)
        print(f"warning: {self.failure}; its further lines are dropped", file=self.stream, flush=True)
        return self.failure

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RunLog:
    def __init__(self, run_id: str, json_path: Path | None, stream: TextIO = sys.stderr) -> None:
        self.run_id = run_id
        self.stream = stream
        self.json_format = os.environ.get("LOG_FORMAT", "").lower() == "json"
        self._file = LogFile(json_path, stream) if json_path else None

    def _record(self, event: str, level: str, fields: dict[str, object]) -> tuple[str, str]:
        timestamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"ts": timestamp, "level": level, "event": event, "run_id": self.run_id, **fields}
        return timestamp, json.dumps(record, default=str, ensure_ascii=False)

    def output(self, step: str, plugin: str, message: str) -> None:
        """One line of a step's output, as JSON on file only (the console shows progress instead):
        raises LogUnwritable when it cannot be kept, since it is kept nowhere else."""
        _, line = self._record("output", "info", {"step": step, "plugin": plugin, "message": message})
        if self._file:
            self._file.write(line)

    def event(self, event: str, level: str = "info", **fields: object) -> None:
        timestamp, line = self._record(event, level, fields)
        if self._file:
            with suppress(LogUnwritable):  # said once by the file; the event is on stderr below
                self._file.write(line)
        if self.json_format:
            print(line, file=self.stream, flush=True)
        else:
            details = " ".join(f"{key}={_quoted(value)}" for key, value in fields.items())
            print(f"{timestamp} level={level} event={event} run_id={self.run_id} {details}".rstrip(),
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self._file:
            self._file.close()


def _quoted(value: object) -> str:
    # Values with spaces stay one token for `shlex.split` and log parsers.
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text
