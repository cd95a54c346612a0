"""Unit test: the health report is replaced whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from orchestrate.report.page import replace_file


def test_a_report_that_cannot_be_written_whole_leaves_the_last_one(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "health.html"
    report.write_text("the last report")

    def half_then_disk_full(path: Path, text: str, encoding: str | None = None) -> int:
        with path.open("w", encoding=encoding) as file:
            file.write(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", half_then_disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        replace_file(report, "the new report, twice as long as the last one")
    assert report.read_text() == "the last report"
    assert list(tmp_path.iterdir()) == [report]  # nothing half-written left beside it


def test_a_report_written_whole_replaces_the_last_one(tmp_path: Path) -> None:
    report = tmp_path / "health.html"
    report.write_text("the last report")
    replace_file(report, "the new report")
    assert report.read_text() == "the new report"
    assert list(tmp_path.iterdir()) == [report]
