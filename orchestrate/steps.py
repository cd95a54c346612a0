"""One step of the daily job: `meltano --log-format=json run --force <task>`, its output
kept and shown.

Each task of the job runs as its own `meltano run`, so the ledger knows when each step
started and ended, how it exited and which output is its own. `--force`: Meltano
refuses to start a pipeline whose previous run it still believes alive (a SIGKILLed
run leaves that record for ~5 minutes); the advisory lock held around every step
already proves no other run is alive, so the record is always stale here.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from orchestrate.job_definition import step_name
from orchestrate.local_postgres import PROJECT_ROOT
from orchestrate.meltano_log import OutputLine
from orchestrate.progress import Progress
from orchestrate.runlog import RunLog

MELTANO = str(Path(sys.executable).with_name("meltano"))
PR_SET_PDEATHSIG = 1
EXCEPTION_LINE = re.compile(r"\b\w+(?:Error|Exception): \S")
# A plugin line that names a problem; not the zero counters ("ERROR=0", "failed: 0") nor
# Soda's "level: fail" threshold column.
PLUGIN_COMPLAINT = re.compile(
    r"(?<!level: )\b(invalid|fatal|refused|fail(?:ed|ure)?|errors?)\b(?!\s*[=:]\s*0\b)", re.IGNORECASE
)
BOX_DRAWING = "╭│╰─"


def _die_with_parent() -> None:
    # A killed run_daily must not leave its Meltano child running unlocked beside the next run.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_task(
    task: str, env: dict[str, str], run_log: TextIO, runlog: RunLog, show: TextIO, verbose: bool
) -> tuple[int, list[OutputLine]]:
    """Exit code and output lines of the task's `meltano run`; each line also goes to the
    text log (for people) and, with the run id and step, to the run's JSON lines."""
    command = [MELTANO, "--log-format=json", "run", "--force", *task.split()]
    progress = Progress()
    step = step_name(task)
    lines: list[OutputLine] = []
    with subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace", preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = OutputLine.parse(raw)
            lines.append(line)
            run_log.write(line.text() + "\n")
            runlog.output(step, line.plugin, line.message)
            shown = line.text() if verbose else progress.line_for(line)
            if shown:
                print(f"    {shown}", file=show, flush=True)
    run_log.flush()
    return process.returncode, lines


def error_summary(task: str, code: int, lines: list[OutputLine]) -> str:
    """One line for the ledger and the alert: the exit code and the line that names the cause."""
    parsed = [(line.plugin, line.message.strip()) for line in lines]
    # The first exception, or the first complaint of a plugin, is the cause; what Meltano
    # reports after it ("Extractor failed", "Block run completed") are consequences.
    causes = [m for _, m in parsed if EXCEPTION_LINE.search(m)]
    complaints = [m for plugin, m in parsed if plugin not in ("", "meltano") and PLUGIN_COMPLAINT.search(m)]
    problems = [m for line, (_, m) in zip(lines, parsed, strict=True)
                if Progress.is_problem(line) and m and m[0] not in BOX_DRAWING]
    tail = (causes or complaints or problems or [m for _, m in parsed if m][-1:] or ["no output"])[0]
    return f"{task} exited with code {code}: {tail}"[:1000]


def task_environment(api_url: str | None, run_id: str, run_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The tap stamps rejected records with the run id; the recommender its training run.
    # RUN_DIR: where a step writes results for the supervisor and CI (quality/results.py).
    env.update(TAP_MOOVITAMIX_RUN_ID=run_id, MOOVITAMIX_RUN_ID=run_id, RUN_DIR=str(run_dir))
    # Meltano writes to a pipe here: unbuffered, its lines (progress) arrive as they happen.
    env["PYTHONUNBUFFERED"] = "1"
    if api_url:
        env["TAP_MOOVITAMIX_API_URL"] = api_url
    return env
