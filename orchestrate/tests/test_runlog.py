"""Unit tests: a log that cannot be written (/dev/full: every write is a full disk) never
hides what the run does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from orchestrate.meltano_log import OutputLine
from orchestrate.run_daily import error_line
from orchestrate.runlog import LogFile, LogUnwritable, RunLog
from orchestrate.steps import Echo

FULL_DISK = Path("/dev/full")
WARNING = "warning: the run log /dev/full cannot be written: No space left on device; its further lines are dropped"


def warnings(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.startswith("warning:")]


def test_events_that_cannot_be_written_are_said_once_and_still_shown() -> None:
    stream = io.StringIO()
    log = RunLog("run-42", FULL_DISK, stream)
    log.event("run.error", level="error", error="boom")
    log.event("alert", text="FAILED")
    log.close()
    assert warnings(stream) == [WARNING]
    assert "event=run.error" in stream.getvalue() and "event=alert" in stream.getvalue()


def test_a_steps_output_that_cannot_be_kept_fails_the_run_with_one_line() -> None:
    stream = io.StringIO()
    log = RunLog("run-42", FULL_DISK, stream)
    for _ in range(2):  # the first failure and every line after it
        with pytest.raises(LogUnwritable) as failure:
            log.output("dbt_postgres_build", "dbt-postgres", "1 of 54 START")
    assert error_line(failure.value) == "the run log /dev/full cannot be written: No space left on device"
    assert warnings(stream) == [WARNING]


def test_a_line_the_text_log_cannot_keep_stops_the_echo(tmp_path: Path) -> None:
    stream = io.StringIO()
    echo = Echo(LogFile(FULL_DISK, stream), RunLog("run-42", tmp_path / "run.jsonl", stream), io.StringIO(), False)
    line = OutputLine.parse(json.dumps({"name": "tap-moovitamix", "event": "Beginning sync", "level": "info"}))
    with pytest.raises(LogUnwritable, match="/dev/full cannot be written"):
        echo.line("tap_moovitamix_target_postgres", line)
    assert warnings(stream) == [WARNING]


def test_a_log_that_can_be_written_gets_every_line_at_once(tmp_path: Path) -> None:
    log = LogFile(tmp_path / "daily.log")
    log.write("first")
    assert (tmp_path / "daily.log").read_text() == "first\n"  # flushed: `tail -f` sees it
    log.write("second")
    log.close()
    assert (tmp_path / "daily.log").read_text() == "first\nsecond\n"
