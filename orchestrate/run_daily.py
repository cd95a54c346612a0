"""The daily job, watched: lock, ledger, thresholds, alerts, report, summary.

    python -m orchestrate.run_daily [--task TASK] [--run-id ID] [--verbose]

Checks the secrets and the API (MOOVITAMIX_API_URL, when set), takes the warehouse's
advisory lock (one run at a time), runs the Meltano job `daily` (meltano.yml) as one `meltano run
daily`, records each of its tasks as a step with its figures in ops.pipeline_* even when
one fails, checks the key metrics against their thresholds, alerts, refreshes the health
report and prints a summary. `--task` runs one task of the job under a given run id:
what an orchestrator with per-step retries calls (orchestrate/dags/). On a laptop,
`make run` (local/run.py) starts the local warehouse and the stand-in API first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import sys
import time
import uuid
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from orchestrate import alerts, figures, health, settings
from orchestrate.job_definition import DAILY_JOB, job_tasks, step_name
from orchestrate.ledger import Figure, Ledger, RunLocked
from orchestrate.meltano_log import OutputLine
from orchestrate.project import PROJECT_ROOT, load_dotenv
from orchestrate.report import write_report
from orchestrate.roles import JOB_ROLES, password_variable
from orchestrate.runlog import LogFile, LogUnwritable, RunLog
from orchestrate.settings import number
from orchestrate.startup import StartupError
from orchestrate.steps import Echo, MeltanoRun, error_summary, task_environment
from orchestrate.summary import print_summary

EXIT_LOCKED = 75  # EX_TEMPFAIL: another run is going on, try again later


class Terminated(Exception):
    """SIGTERM (an operator, a scheduler's timeout, a shutdown): the run stops cleanly, aborted."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(f"stopped by signal {signal.Signals(signum).name}")


def error_line(problem: Exception) -> str:
    """What the ledger, the alert and stderr say of a problem: one line, with its kind."""
    if isinstance(problem, StartupError | Terminated | LogUnwritable):
        text = str(problem)
    elif isinstance(problem, psycopg.Error):
        text = f"warehouse error: {problem}"
    else:
        text = f"{type(problem).__name__}: {problem}"
    return " ".join(text.split())[:1000]


def check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        raise StartupError(
            "Java not found: the recommender needs a JDK 17 (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
        )


def preflight(tasks: list[str]) -> None:
    """What can be checked before anything starts (a launcher calls it first too)."""
    if "recommender:run" in tasks:
        check_java()


def check_api(url: str) -> None:
    probe = f"{url.rstrip('/')}/tracks?page=1&size=1"
    token = os.environ.get("MOOVITAMIX_API_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.get(probe, headers=headers, timeout=10)
        response.raise_for_status()
        response.json()["total"]
    except (requests.RequestException, ValueError, KeyError) as error:
        raise StartupError(
            f"the MooVitamix API at {url} is unreachable or not answering per contract: {error}"
        ) from error


# Secrets a run outside dev/ci must get from its runner's secret store: never from a
# default or the project's .env (whose salt is this machine's own, not production's).
REQUIRED_SECRETS = ("PII_SALT", "WAREHOUSE_PASSWORD", *(password_variable(role) for role in JOB_ROLES))
LOCAL_ENVIRONMENTS = ("dev", "ci")
MIN_SALT_LENGTH = 32  # every development value ever used is shorter


def check_secrets(environment: str, configured: dict[str, str]) -> None:
    if environment not in LOCAL_ENVIRONMENTS:
        for name in REQUIRED_SECRETS:
            if not configured.get(name):
                raise StartupError(f"{name} is not set: a {environment} run takes it from its secret store")
    if len(configured.get("PII_SALT", "")) < MIN_SALT_LENGTH:
        raise StartupError(f"PII_SALT is shorter than {MIN_SALT_LENGTH} characters: not a production salt")


def needs_api(tasks: list[str]) -> bool:
    return any(task.split()[0].startswith("tap-") for task in tasks)


# The job's task (meltano.yml) that builds ops.identity_conflicts: the one step whose
# figures count them. Another dbt step counting them too would report the same conflicts twice.
IDENTITY_CONFLICTS_TASK = "dbt-postgres:build"


def collect_figures(ledger: Ledger, task: str, step: str, lines: list[OutputLine], run_dir: Path,
                    step_started: dt.datetime, run_started: dt.datetime) -> list[Figure]:
    """The step's own figures; which ones depends on the plugin the task runs."""
    plugin = task.split()[0].split(":")[0]
    connection = ledger.connection
    if plugin.startswith("tap-"):
        return figures.extract_figures(step, lines) + figures.rejected_figures(connection, step, ledger.run_id)
    if task == "dbt-postgres:freshness":
        return figures.freshness_figures(step, step_started)
    if plugin.startswith("dbt"):
        conflicts = (figures.identity_conflict_figures(connection, step, run_started)
                     if task == IDENTITY_CONFLICTS_TASK else [])
        return figures.dbt_figures(step, step_started) + conflicts
    if plugin == "soda":
        return figures.soda_figures(step, run_dir, step_started)
    return []  # the recommender records its own run, in ml.training_runs


@dataclass
class Step:
    index: int
    task: str
    name: str
    started: dt.datetime
    server_started: dt.datetime  # the warehouse server's start time when the step began
    lines: list[OutputLine] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """How `meltano run` ended: the failed step and its error, or neither; `restarted`
    when the warehouse's server restarted while that step ran."""

    failed_step: str | None = None
    error: str | None = None
    restarted: bool = False


def open_step(ledger: Ledger, runlog: RunLog, index: int, task: str) -> Step:
    step = Step(index, task, step_name(task), ledger.start_step(index, step_name(task), task),
                ledger.server_started_at())
    runlog.event("step.start", step=step.name, index=index, task=task)
    print(f"▶ step {index} {task}", flush=True)
    return step


def close_step(ledger: Ledger, runlog: RunLog, step: Step, code: int, error: str | None, run_dir: Path,
               run_started: dt.datetime) -> None:
    ledger.finish_step(step.name, code, error)
    try:
        ledger.record_figures(collect_figures(ledger, step.task, step.name, step.lines, run_dir, step.started,
                                              run_started))
    except (psycopg.Error, ValueError, KeyError) as problem:
        # Missing figures must not turn a good step into a failed one: logged instead.
        runlog.event("figures.unavailable", level="warning", step=step.name, reason=str(problem)[:300])
    runlog.event("step.end", level="info" if code == 0 else "error", step=step.name, exit_code=code,
                 **({"error": error} if error else {}))
    print(f"{'✔' if code == 0 else '✘'} step {step.index} {step.task}: {'success' if code == 0 else 'FAILED'}",
          flush=True)


def run_steps(ledger: Ledger, arguments: list[str], tasks: list[str], first_index: int, api_url: str | None,
              log_path: Path, run_dir: Path, runlog: RunLog, verbose: bool) -> Outcome:
    """`meltano run ARGUMENTS` (the job, or one task's blocks), each of `tasks` a step of the
    ledger, ended by Meltano's end of its block."""
    meltano = MeltanoRun(arguments, task_environment(api_url, ledger.run_id, run_dir))
    run_started = ledger.connection.execute(
        "select started_at from ops.pipeline_runs where run_id = %s", (ledger.run_id,)
    ).fetchone()[0]
    waiting = list(enumerate(tasks, start=first_index))
    current: Step | None = open_step(ledger, runlog, *waiting.pop(0))
    last_name = current.name
    # closing(): whatever stops this loop (SIGTERM, an error, a log it cannot write) stops Meltano at once.
    with closing(LogFile(log_path)) as run_log, closing(meltano.lines()) as lines:
        echo = Echo(run_log, runlog, sys.stdout, verbose)
        for line in lines:
            echo.line(current.name if current else last_name, line)
            if current is None:
                continue
            current.lines.append(line)
            if line.block_success:  # this task is done, Meltano starts the next one
                close_step(ledger, runlog, current, 0, None, run_dir, run_started)
                if meltano.memory:
                    meltano.memory.mark()
                current = open_step(ledger, runlog, *waiting.pop(0)) if waiting else None
                last_name = current.name if current else last_name
    code = meltano.returncode or 0
    if current is not None:  # Meltano ended inside a task: that task failed, the job stops there
        code = code or 1
        peak = meltano.memory.peak_since_mark() if meltano.memory else 0
        error = error_summary(current.task, code, current.lines, peak)
        close_step(ledger, runlog, current, code, error, run_dir, run_started)
        return Outcome(current.name, error, ledger.server_started_at() != current.server_started)
    if code != 0:
        return Outcome(last_name, f"meltano exited with code {code} after its last task (see {log_path})")
    return Outcome()


def run_job(ledger: Ledger, arguments: list[str], tasks: list[str], first_index: int, api_url: str | None,
            log_path: Path, run_dir: Path, runlog: RunLog, verbose: bool) -> Outcome:
    """`run_steps`, and again from the failed step when the warehouse restarted under it.

    Every step of the job can run twice with the same result: the extract-load resumes
    from the bookmarks the target committed and upserts; dbt rebuilds its models and
    merges its incremental ones on their keys; Soda and the freshness check only read; the
    recommender trains again (a failed training never counts) and swaps its lists in one
    transaction. So a step cut by a restart is retried rather than failing the day; a
    failure while the server kept running is the step's own, and is not.
    """
    retries = int(number("WAREHOUSE_RESTART_RETRIES"))
    outcome = run_steps(ledger, arguments, tasks, first_index, api_url, log_path, run_dir, runlog, verbose)
    for attempt in range(1, retries + 1):
        if not outcome.restarted:
            return outcome
        position = [step_name(task) for task in tasks].index(outcome.failed_step)
        tasks, first_index = tasks[position:], first_index + position
        runlog.event("step.retry", level="warning", step=outcome.failed_step, attempt=attempt,
                     reason="the warehouse restarted during the step", error=outcome.error)
        print(f"↻ the warehouse restarted during {outcome.failed_step}: running it again ({attempt}/{retries})",
              flush=True)
        ledger.forget_figures(outcome.failed_step)
        ledger.record_figures([Figure(outcome.failed_step, "warehouse", "restart_retries", attempt)])
        # The remaining tasks, each block set as the job writes it: Meltano reads the same block sets.
        arguments = [block for task in tasks for block in task.split()]
        outcome = run_steps(ledger, arguments, tasks, first_index, api_url, log_path, run_dir, runlog, verbose)
    if outcome.restarted:
        return Outcome(outcome.failed_step, f"{outcome.error} (the warehouse restarted during the step;"
                       f" retried {retries} time(s))"[:1000], True)
    return outcome


def finish(ledger: Ledger, failed_step: str | None, error: str | None, runlog: RunLog) -> list[health.Finding]:
    try:
        ledger.record_figures(figures.warehouse_figures(ledger.connection))
    except psycopg.Error as problem:
        runlog.event("figures.unavailable", level="warning", step="warehouse", reason=str(problem)[:300])
    ledger.finish_run(failed_step, error)
    findings = health.evaluate(ledger.connection, ledger.run_id)
    health.record(ledger.connection, ledger.run_id, findings)
    for finding in findings:
        if finding.breached:
            runlog.event("threshold.breached", level="warning", metric=finding.metric, subject=finding.subject,
                         value=finding.value, threshold=finding.threshold, message=finding.message)
    return findings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", help="run only this task of the job (as written in meltano.yml)")
    parser.add_argument("--run-id", help="run id to record under (default: a new one)")
    parser.add_argument("--verbose", action="store_true", help="show every output line, not only progress")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    environment = os.environ.get("MELTANO_ENVIRONMENT", "dev")
    # Outside dev/ci the secrets must come from the runner, not from the project's .env.
    runner_secrets = None if environment in LOCAL_ENVIRONMENTS else dict(os.environ)
    load_dotenv()  # the warehouse Meltano will use: the shell's, else the project's .env
    started = time.monotonic()
    run_id = args.run_id or f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    all_tasks = job_tasks(DAILY_JOB)
    if args.task and args.task not in all_tasks:
        print(f"error: {args.task!r} is not a task of job {DAILY_JOB}: {all_tasks}", file=sys.stderr)
        return 2
    tasks = [args.task] if args.task else all_tasks
    # The whole job is Meltano's own `daily`; one task alone is its blocks.
    arguments = args.task.split() if args.task else [DAILY_JOB]
    first_index = all_tasks.index(tasks[0]) + 1
    # Under an orchestrator (--task) thresholds are judged once, after the job's last task.
    job_finished = tasks[-1] == all_tasks[-1]
    logs = Path(os.environ.get("RUN_LOG_DIR", PROJECT_ROOT / ".logs"))
    log_path = logs / f"daily-{run_id}.log"
    # The run folder: what the steps write for programs to read (Soda's results), kept with the log.
    run_dir = logs / run_id
    runlog = RunLog(run_id, logs / f"daily-{run_id}.jsonl")
    ledger: Ledger | None = None
    failed_step: str | None = None
    error: str | None = None
    findings: list[health.Finding] = []
    report: Path | None = None
    status: str | None = None
    try:
        # Within the run: folders that cannot be made (a full disk) fail it like any other problem.
        run_dir.mkdir(parents=True, exist_ok=True)
        runlog.event("run.start", job=DAILY_JOB, tasks=len(tasks), log=log_path)
        settings.validate()
        check_secrets(environment, runner_secrets or dict(os.environ))
        preflight(tasks)
        ledger = Ledger(run_id)
        ledger.acquire()
        # A run killed outright could not say so: the first run after it does, once.
        for aborted in ledger.aborted_runs:
            runlog.event("run.found_aborted", level="error", aborted_run=aborted)
            killed = f"killed before it could finish (found by run {run_id})"
            alerts.send(alerts.build_message(aborted, "aborted", killed, [], None), runlog)
        # The whole job holds the advisory lock throughout; one task of an orchestrator's
        # run also holds the lease, for the run's next task (or a retry).
        if args.task:
            ledger.hold_lease(DAILY_JOB, number("RUN_LEASE_HOURS"))
        else:
            ledger.check_lease(DAILY_JOB)
        ledger.start_run(DAILY_JOB, environment, str(log_path))
        # Unset: the tap reads the api_url of its Meltano environment.
        api_url = os.environ.get("MOOVITAMIX_API_URL")
        if api_url and needs_api(tasks):
            check_api(api_url)
        outcome = run_job(ledger, arguments, tasks, first_index, api_url, log_path, run_dir, runlog, args.verbose)
        failed_step, error = outcome.failed_step, outcome.error
        findings = finish(ledger, failed_step, error, runlog)
        try:
            report = write_report(ledger.connection)
        except OSError as problem:  # a report that cannot be written does not fail the run
            runlog.event("report.unwritten", level="warning", reason=str(problem))
    except RunLocked as locked:
        runlog.event("run.refused", level="error", reason=str(locked))
        print(f"error: {locked}", file=sys.stderr)
        return EXIT_LOCKED
    except Exception as problem:  # whatever it is: one line, the ledger row, the alert
        error = error_line(problem)
        status = "aborted" if isinstance(problem, Terminated) else "failed"
        runlog.event("run.error", level="error", error=error, status=status)
        print(f"error: {error}", file=sys.stderr)
        if ledger is not None:
            try:
                ledger.finish_run(failed_step or ledger.running_step() or "startup", error, status)
            except Exception:  # the warehouse itself may be what failed
                runlog.event("ledger.unavailable", level="error")
    finally:
        if ledger is not None:
            # An orchestrator's run keeps its lease until its last task has succeeded.
            if args.task and job_finished and error is None:
                with suppress(psycopg.Error):
                    ledger.release_lease(DAILY_JOB)
            ledger.close()
    status = status or ("success" if error is None else "failed")
    if error or (job_finished and any(f.breached for f in findings)):
        alerts.send(alerts.build_message(run_id, status, error, findings, str(report) if report else None), runlog)
    runlog.event("run.end", status=status, seconds=round(time.monotonic() - started, 1),
                 **({"failed_step": failed_step} if failed_step else {}))
    runlog.close()
    if ledger is not None:  # without a warehouse session there is nothing to summarise but the error above
        try:
            print_summary(run_id, job_succeeded=error is None, log_path=log_path,
                          seconds=time.monotonic() - started, report=report)
        except psycopg.Error as problem:  # the warehouse went away: the error above says what failed
            print(f"(no summary: the warehouse did not answer: {' '.join(str(problem).split())[:300]})",
                  file=sys.stderr)
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main())
