"""Airflow DAG of the MooVitamix `daily` job, built from meltano.yml at parse time.

One Airflow task per task of the Meltano job (orchestrate/jobs.meltano.yml), chained in
the job's order, on the Meltano schedule's cron: the same steps as `make run`, with
Airflow's per-step retries. Each task runs one step through orchestrate/run_daily.py
(`--task`: one `meltano run` of that task), which records it in the run ledger under the
DAG run's id, holds the warehouse's advisory lock while it runs and renews the job's
lease (ops.run_lease) for the DAG run, so that no `make run` starts between two tasks:
an Airflow run and a `make run` never overlap. The lease outlives a task's attempts
(RUN_LEASE_HOURS, from the retry policy below) and ends with the last task.

Deploy: put this file in the scheduler's dags folder with MOOVITAMIX_HOME pointing at
an installed checkout (`make install`), and the prod variables of compose.env.example in the
worker's environment (MELTANO_ENVIRONMENT=prod, WAREHOUSE_*, MOOVITAMIX_API_URL...).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from pathlib import Path

from airflow import DAG

try:  # Airflow 3 ships the operator in the standard provider, Airflow 2 in core.
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator

PROJECT = Path(os.environ.get("MOOVITAMIX_HOME", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(PROJECT))  # the scheduler imports this file outside the project
from orchestrate.job_definition import DAILY_JOB, job_schedule, job_tasks, step_name  # noqa: E402

RETRIES = 2
RETRY_DELAY = dt.timedelta(minutes=5)
EXECUTION_TIMEOUT = dt.timedelta(hours=2)
# Every attempt of one task and the (doubling) waits between them.
LEASE = EXECUTION_TIMEOUT * (RETRIES + 1) + sum((RETRY_DELAY * 2**attempt for attempt in range(RETRIES)),
                                                 dt.timedelta())

with DAG(
    dag_id="moovitamix_daily",
    description="tap-moovitamix ► target-postgres ► dbt build ► Soda gate ► recommender ► profile of its lists",
    schedule=job_schedule(DAILY_JOB, PROJECT),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,  # the warehouse lock refuses a second run anyway; do not queue one
    default_args={
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "execution_timeout": EXECUTION_TIMEOUT,
    },
    tags=["moovitamix", "meltano"],
) as dag:
    previous = None
    for task in job_tasks(DAILY_JOB, PROJECT):
        step = BashOperator(
            task_id=step_name(task),
            bash_command=(
                f"cd {shlex.quote(str(PROJECT))} && .venv/bin/python -m orchestrate.run_daily"
                f" --task {shlex.quote(task)} --run-id '{{{{ run_id }}}}'"
            ),
            env={"RUN_LEASE_HOURS": str(LEASE.total_seconds() / 3600)},
            append_env=True,
        )
        if previous is not None:
            previous >> step
        previous = step
