"""`make help` lists every public target of the Makefiles, and the README's tables of
targets name exactly those."""

from __future__ import annotations

import re
import subprocess

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
