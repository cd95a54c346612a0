"""What `make run` shows while a step runs: a few lines per step instead of Meltano's
thousands (the whole output stays in the run log).

Pages read per stream come from the tap's `event=progress` lines, rows loaded from
target-postgres' `METRIC: record_count`, dbt's `N of M` lines, Soda's contract outcomes
and the recommender's `event=` lines. Repeated progress is throttled to one line per
second per subject, so a 10,000-page extraction stays readable.
"""

from __future__ import annotations

import json
import re
import time

from orchestrate.figures import METRIC, event_fields
from orchestrate.meltano_log import OutputLine

# Lines shown to people as they come; no figure is read from them (orchestrate/figures.py).
SODA_OUTCOME = re.compile(r"^=== contract (?P<name>\S+): (?P<outcome>[A-Z_]+) \(soda exit \d+\) ===")
DBT_NODE = re.compile(r"\b(\d+) of (\d+) (OK|PASS|FAIL|ERROR|WARN|SKIP)\b(.*?)\s*\.{2,}")
PROBLEM = re.compile(r"\bTraceback\b|\bFAIL(?:ED)?\b")


class Progress:
    def __init__(self, throttle_seconds: float = 1.0) -> None:
        self.throttle = throttle_seconds
        self._last_shown: dict[str, float] = {}

    @staticmethod
    def is_problem(line: OutputLine) -> bool:
        return line.level in ("error", "critical") or PROBLEM.search(line.message) is not None

    def _due(self, subject: str, final: bool) -> bool:
        now = time.monotonic()
        if final or now - self._last_shown.get(subject, float("-inf")) >= self.throttle:
            self._last_shown[subject] = now
            return True
        return False

    def line_for(self, line: OutputLine) -> str | None:
        """The console line this output line deserves, or None to keep it in the log only."""
        plugin, message = line.plugin, line.message
        fields = event_fields(message)
        event = fields.get("event")
        if event == "progress" and "stream" in fields:
            done = fields.get("pages_read") == fields.get("pages_total")
            if self._due(fields["stream"], done):
                return (f"{fields['stream']}: page {fields.get('pages_read')}/{fields.get('pages_total', '?')}"
                        f" · {fields.get('records', '?')}/{fields.get('total', '?')} records")
            return None
        if event in ("stream_complete", "stream_failed"):
            verdict = "done" if event == "stream_complete" else "FAILED"
            return (f"{fields.get('stream')}: {verdict} · {fields.get('records')} records, {fields.get('pages')} pages,"
                    f" {fields.get('retries', 0)} retries, {fields.get('http_429', 0)} HTTP 429,"
                    f" {fields.get('rejected', 0)} rejected")
        if plugin in ("recommender", "bookmark-guard") and event:
            details = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("event", "ts", "level"))
            return f"{plugin}: {event} {details}".rstrip()
        if metric := METRIC.search(message):
            body = json.loads(metric["json"])
            stream = body.get("tags", {}).get("stream")
            if body.get("metric") == "record_count" and stream:
                verb = "rows loaded" if plugin.startswith("target") else "records read"
                return f"{stream}: {body['value']} {verb}"
            return None
        if match := DBT_NODE.search(message):
            final = match[1] == match[2] or match[3] in ("FAIL", "ERROR")
            if self._due("dbt", final):
                return f"dbt {match[1]}/{match[2]} {match[3]}{match[4]}"
            return None
        if match := SODA_OUTCOME.match(message):
            return f"contract {match['name']}: {match['outcome']}"
        if self.is_problem(line) and message.strip() and message.lstrip()[0] not in "╭│╰─":
            return message[:300]
        return None
