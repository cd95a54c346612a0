"""Every command says what it does: `make help` lists every public target of the
Makefiles, the README's tables of targets name exactly those, and every CLI answers --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.project import PROJECT_ROOT

# A target line that a rule can be invoked by name: `name: prerequisites`, not `x := y`.
TARGET_LINE = re.compile(r"^([a-z][a-z0-9-]*):(?!=)", re.MULTILINE)
MAKEFILES = ["Makefile", *(str(path.relative_to(PROJECT_ROOT)) for path in PROJECT_ROOT.glob("*/*.mk"))]


def help_targets() -> list[str]:
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True).stdout
    return [line.split()[1] for line in shown.splitlines()]


def test_help_lists_every_target_a_rule_defines() -> None:
    defined = {name for makefile in MAKEFILES for name in TARGET_LINE.findall((PROJECT_ROOT / makefile).read_text())}
    listed = help_targets()
    assert len(listed) == len(set(listed))
    assert set(listed) == defined


def test_the_readme_tables_name_the_targets_make_help_lists() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = [line.split("|")[1] for line in readme.splitlines() if line.startswith("| `make ")]
    in_readme = {target for row in rows for target in re.findall(r"`make ([a-z][a-z0-9-]*)", row)}
    assert in_readme == set(help_targets())


MELTANO_VENVS = PROJECT_ROOT / ".meltano"
ML_PYTHON = MELTANO_VENVS / "utilities" / "recommender" / "venv" / "bin" / "python"
SODA_PYTHON = MELTANO_VENVS / "utilities" / "soda" / "venv" / "bin" / "python"
# Every command a person runs (what the Makefile's targets call, and the plugins' own):
# each answers --help without starting anything.
COMMANDS = [
    *([sys.executable, "-m", module] for module in (
        "orchestrate.run_daily", "orchestrate.report", "orchestrate.roles", "orchestrate.erase_user",
        "local.run", "local.postgres", "api.stand_in",
        "benchmarks.bench_api", "benchmarks.bench_el", "benchmarks.bench_day", "benchmarks.ml.standin_data",
        "benchmarks.ml.planted_data", "benchmarks.ml.public_data",
    )),
    *([str(ML_PYTHON), "-m", module] for module in (
        "benchmarks.ml.bench_ml", "benchmarks.ml.bench_blas", "benchmarks.ml.bench_serve",
    )),
    [str(ML_PYTHON), str(PROJECT_ROOT / "benchmarks" / "bench_candidate_pool.py")],
    [str(MELTANO_VENVS / "utilities" / "recommender" / "venv" / "bin" / "moovitamix-ml")],
    [str(MELTANO_VENVS / "utilities" / "bookmark-guard" / "venv" / "bin" / "bookmark-guard")],
    [str(MELTANO_VENVS / "extractors" / "tap-moovitamix" / "venv" / "bin" / "tap-moovitamix")],
    [str(SODA_PYTHON), str(PROJECT_ROOT / "quality" / "verify.py")],
    ["sh", str(PROJECT_ROOT / "quality" / "verify_all.sh")],
    ["sh", str(PROJECT_ROOT / "quality" / "run_quality.sh")],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(Path(part).name for part in command))
def test_every_command_answers_help(command: list[str]) -> None:
    answer = subprocess.run([*command, "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert "usage:" in answer.stdout.lower() or "options" in answer.stdout.lower(), answer.stdout[:500]
