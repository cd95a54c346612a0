"""One line of `meltano --log-format=json`: Meltano's own events and its plugins' output.

Meltano writes one JSON object per line: `event` is the message, `name` the plugin whose
output it is (absent on Meltano's own lines), `level` and `timestamp` its own; its
"Block run completed" events also carry `success` (the end of one task). Lines are
told apart by these fields, never by Meltano's console layout; a plugin's own message
(the tap's `event=` fields, the SDK's `METRIC:` JSON) is read from `event`.
"""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass

BLOCK_COMPLETED = "Block run completed"
COMMAND_FAILED = re.compile(r"`(?P<command>[^`]+)` failed with exit code: (?P<code>-?\d+)")


@dataclass(frozen=True)
class OutputLine:
    plugin: str  # "meltano" for Meltano's own lines, "" for a line that is not JSON
    message: str
    level: str
    timestamp: str
    # Meltano's end of a block set (one task of a job): whether it succeeded, and when it
    # failed the exit code of each plugin (negative: killed by that signal). A command block
    # (a utility's command) gives its code in `err` only: "`recommender run` failed with
    # exit code: -9", read into exit_codes under the command's name.
    block_success: bool | None = None
    exit_codes: dict[str, int] | None = None

    @classmethod
    def parse(cls, line: str) -> OutputLine:
        text = line.rstrip("\n")
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            # Not Meltano's: something printed before its logging was set up (a crash trace).
            return cls("", text, "info", "")
        plugin = str(record.get("name", "meltano"))
        message = str(record.get("event", ""))
        block_end = plugin == "meltano" and message == BLOCK_COMPLETED
        return cls(
            plugin=plugin,
            message=message,
            level=str(record.get("level", "info")),
            timestamp=str(record.get("timestamp", "")),
            block_success=bool(record.get("success")) if block_end else None,
            exit_codes=_exit_codes(record.get("exit_codes"), record.get("err")) if block_end else None,
        )

    def killed_by(self) -> list[tuple[str, str]]:
        """(plugin type, signal name) of each plugin a signal killed (the OOM killer's SIGKILL)."""
        return [
            (plugin, signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}")
            for plugin, code in (self.exit_codes or {}).items()
            if code < 0
        ]

    def text(self) -> str:
        """The line for people (the run's text log): time, level, plugin, message."""
        return f"{self.timestamp} [{self.level:<8}] {self.plugin} {self.message}".lstrip()


def _exit_codes(value: object, error: object) -> dict[str, int]:
    codes = {str(plugin): code for plugin, code in value.items() if isinstance(code, int)} if isinstance(
        value, dict) else {}
    command = COMMAND_FAILED.search(str(error or ""))
    if command:
        codes[command.group("command")] = int(command.group("code"))
    return codes
