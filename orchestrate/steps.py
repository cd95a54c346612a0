"""The daily job's steps: one `meltano --log-format=json run --force daily`, its output
kept, shown, and cut into steps at Meltano's "Block run completed" events.

Meltano runs the job's tasks in order and stops at the first that fails; each task is one
block set of the run, whose end it reports with `set_number`, `success` and `err`: the
ledger's step boundaries. `--force`: Meltano refuses to start a pipeline whose previous
run it still believes alive (a SIGKILLed run leaves that record for ~5 minutes;
tests/test_ops_run.py, a killed run then the next one at once); the warehouse's advisory
lock held around the whole run already proves no other run is alive (same file, a second
run refused), so the record is always stale here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from orchestrate.meltano_log import OutputLine
from orchestrate.memory import TreeMemory
from orchestrate.progress import Progress
from orchestrate.project import PROJECT_ROOT
from orchestrate.runlog import LogFile, RunLog
from orchestrate.startup import die_with_parent, stop_process

MELTANO = str(Path(sys.executable).with_name("meltano"))
# An exception as Python prints it: "ValueError: …", or by its module when its name says
# neither (psycopg's "psycopg.errors.DiskFull: could not extend file …").
EXCEPTION_LINE = re.compile(r"\b\w+(?:Error|Exception): \S|\b[a-z_]\w*(?:\.\w+)*\.[A-Z]\w*: \S")
# A plugin line that names a problem; not the zero counters ("ERROR=0", "failed: 0") nor
# Soda's "level: fail" threshold column.
PLUGIN_COMPLAINT = re.compile(
    r"(?<!level: )\b(invalid|fatal|refused|fail(?:ed|ure)?|errors?)\b(?!\s*[=:]\s*0\b)", re.IGNORECASE
)
BOX_DRAWING = "╭│╰─"
# dbt names a failed node on one line ("Database Error in model fct_listens (…)") and gives
# the database's own words on the next ("could not extend file …: No space left on device").
DBT_NODE_ERROR = re.compile(r"\b\w+ Error in \w+ \S")


class MeltanoRun:
    """`meltano run` of a job or of one task's blocks; its output lines as they come, then
    its exit code (`returncode`, once `lines()` is exhausted)."""

    def __init__(self, arguments: list[str], env: dict[str, str]) -> None:
        # --no-install: plugins are installed by `make install` only (locked dependencies, then
        # the project's own packages on top); Meltano 4.4 would otherwise reinstall a plugin
        # whose pip_url changed from that pip_url alone (its `auto_install` setting is ignored).
        self.command = [MELTANO, "--log-format=json", "run", "--force", "--no-install", *arguments]
        self.env = env
        self.returncode: int | None = None
        self.memory: TreeMemory | None = None

    def lines(self) -> Iterator[OutputLine]:
        with subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", preexec_fn=die_with_parent,
        ) as process:
            assert process.stdout is not None
            self.memory = TreeMemory(process.pid)
            self.memory.start()
            try:
                for raw in process.stdout:
                    yield OutputLine.parse(raw)
            except BaseException:  # the supervisor stops (SIGTERM, an error): Meltano stops too
                stop_process(process)
                raise
            finally:
                self.memory.stop()
        self.returncode = process.returncode


class Echo:
    """Each output line to the text log (for people), to the run's JSON lines (with the run
    id and its step) and, as progress or in full with `verbose`, to the console. A line
    that cannot be kept on file raises LogUnwritable: the run stops, and Meltano with it."""

    def __init__(self, run_log: LogFile, runlog: RunLog, show: TextIO, verbose: bool) -> None:
        self.run_log, self.runlog, self.show, self.verbose = run_log, runlog, show, verbose
        self.progress = Progress()

    def line(self, step: str, line: OutputLine) -> None:
        self.run_log.write(line.text())
        self.runlog.output(step, line.plugin, line.message)
        shown = line.text() if self.verbose else self.progress.line_for(line)
        if shown:
            print(f"    {shown}", file=self.show, flush=True)


def error_summary(task: str, code: int, lines: list[OutputLine], peak_bytes: int = 0) -> str:
    """One line for the ledger and the alert: the exit code and the line that names the cause,
    or, for a plugin killed by a signal, that signal and the peak memory of the step's processes."""
    killed = [kill for line in lines for kill in line.killed_by()]
    if killed:
        plugins = ", ".join(f"{plugin} by {name}" for plugin, name in killed)
        return (f"{task} was killed ({plugins}; the out-of-memory killer sends SIGKILL):"
                f" peak memory of the step's processes {peak_bytes // 2**20} MB")[:1000]
    parsed = [(line.plugin, line.message.strip()) for line in lines]
    # The first exception, or the first complaint of a plugin, is the cause; what Meltano
    # reports after it ("Extractor failed", "Block run completed") are consequences.
    causes = named_causes([m for _, m in parsed])
    complaints = [m for plugin, m in parsed if plugin not in ("", "meltano") and PLUGIN_COMPLAINT.search(m)]
    problems = [m for line, (_, m) in zip(lines, parsed, strict=True)
                if Progress.is_problem(line) and m and m[0] not in BOX_DRAWING]
    tail = (causes or complaints or problems or [m for _, m in parsed if m][-1:] or ["no output"])[0]
    return f"{task} exited with code {code}: {tail}"[:1000]


def named_causes(messages: list[str]) -> list[str]:
    """The lines that name a cause: an exception, or a dbt node's error with the database's words."""
    causes: list[str] = []
    for message, following in zip(messages, [*messages[1:], ""], strict=True):
        if node_error := DBT_NODE_ERROR.search(message):
            causes.append(": ".join(filter(None, (message[node_error.start():], following))))
        elif EXCEPTION_LINE.search(message):
            causes.append(message)
    return causes


def task_environment(api_url: str | None, run_id: str, run_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The tap stamps rejected records with the run id; the recommender its training run; Soda
    # counts the run's new rejected records and identity conflicts (quality/contract_variables.py).
    # RUN_DIR: where a step writes results for the supervisor and CI (quality/results.py).
    env.update(TAP_MOOVITAMIX_RUN_ID=run_id, MOOVITAMIX_RUN_ID=run_id, RUN_DIR=str(run_dir))
    # Meltano writes to a pipe here: unbuffered, its lines (progress) arrive as they happen.
    env["PYTHONUNBUFFERED"] = "1"
    if api_url:
        env["TAP_MOOVITAMIX_API_URL"] = api_url
    return env
