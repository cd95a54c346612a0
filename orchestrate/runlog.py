"""Structured events of one daily run: a key=value line on stderr and a JSON line on file.

Every event carries the run id. The JSON lines (`.logs/daily-<run_id>.jsonl`) are
always written, for log shippers; LOG_FORMAT=json also switches stderr to JSON lines,
for runners (CI, containers) whose log collector parses JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TextIO


class RunLog:
    def __init__(self, run_id: str, json_path: Path | None, stream: TextIO = sys.stderr) -> None:
        self.run_id = run_id
        self.stream = stream
        self.json_format = os.environ.get("LOG_FORMAT", "").lower() == "json"
        self._file = json_path.open("a", encoding="utf-8") if json_path else None

    def _record(self, event: str, level: str, fields: dict[str, object]) -> tuple[str, str]:
        timestamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"ts": timestamp, "level": level, "event": event, "run_id": self.run_id, **fields}
        line = json.dumps(record, default=str, ensure_ascii=False)
        if self._file:
            self._file.write(line + "\n")
            self._file.flush()
        return timestamp, line

    def output(self, step: str, plugin: str, message: str) -> None:
        """One line of a step's output, as JSON on file only (the console shows progress instead)."""
        self._record("output", "info", {"step": step, "plugin": plugin, "message": message})

    def event(self, event: str, level: str = "info", **fields: object) -> None:
        timestamp, line = self._record(event, level, fields)
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
