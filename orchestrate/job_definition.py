"""The `daily` job as meltano.yml declares it: the one list of steps every runner follows.

`make run` (orchestrate/run_daily.py), the Airflow DAG (orchestrate/dags/) and the
Meltano schedule all run these tasks, so a step added to the job is added everywhere.
Read straight from the YAML (meltano.yml and its include_paths) rather than through
`meltano job list`: the DAG must load in an Airflow scheduler that has no Meltano.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from orchestrate.project import PROJECT_ROOT

DAILY_JOB = "daily"


def _project_files(project_root: Path) -> list[dict]:
    main = yaml.safe_load((project_root / "meltano.yml").read_text())
    included = [yaml.safe_load((project_root / path).read_text()) or {} for path in main.get("include_paths", [])]
    return [main, *included]


def job_tasks(job: str = DAILY_JOB, project_root: Path = PROJECT_ROOT) -> list[str]:
    """The job's tasks in order, each one `meltano run` block set ("tap target", "dbt:build")."""
    for document in _project_files(project_root):
        for definition in document.get("jobs", []):
            if definition["name"] == job:
                tasks = definition["tasks"]
                # Meltano accepts a task as a string or as a list of block names.
                return [task if isinstance(task, str) else " ".join(task) for task in tasks]
    raise KeyError(f"job {job!r} is not defined in {project_root / 'meltano.yml'} or its include_paths")


def step_name(task: str) -> str:
    """A short, stable name for a task, used in the ledger, logs and Airflow task ids."""
    return re.sub(r"[^a-z0-9]+", "_", task.lower()).strip("_")


def job_schedule(job: str = DAILY_JOB, project_root: Path = PROJECT_ROOT) -> str:
    """The cron interval of the Meltano schedule that runs the job."""
    for document in _project_files(project_root):
        for schedule in document.get("schedules", []):
            if schedule.get("job") == job:
                return schedule["interval"]
    raise KeyError(f"no schedule runs job {job!r}")
