"""`python -m local.run --help` answers and starts nothing (no warehouse, no stand-in)."""

from __future__ import annotations

import pytest

from local import run


def test_help_describes_the_launcher_and_the_supervisors_options_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def must_not_start(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("--help started a server")

    monkeypatch.setattr(run.LocalPostgres, "start", must_not_start)
    monkeypatch.setattr(run, "stand_in_api", must_not_start)
    with pytest.raises(SystemExit) as exit_:
        run.main(["--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    assert "the daily job on this machine" in shown
    assert "--run-id" in shown and "--task" in shown
