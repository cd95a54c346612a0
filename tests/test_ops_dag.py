"""The Airflow DAG, run by the real Airflow (its own venv: `make test` installs it in
.airflow/venv, from orchestrate/dags/requirements.txt), and the job's lease it relies on.

Airflow parses the DAG file as a scheduler would, then `airflow dags test` runs one DAG
run, task after task, each `run_daily --task` on the stand-in and a database of its own;
the ledger and the warehouse say what happened. The job definition read from the YAML is
checked against Meltano's own `meltano job list`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.postgres import LocalPostgres
from orchestrate.job_definition import job_schedule, job_tasks, step_name
from orchestrate.project import PROJECT_ROOT
from orchestrate.run_daily import EXIT_LOCKED
from tests import el_harness as el
from tests.conftest import connect, run_daily

DAGS = PROJECT_ROOT / "orchestrate" / "dags"
AIRFLOW_PYTHON = PROJECT_ROOT / ".airflow" / "venv" / "bin" / "python"
MELTANO = str(Path(sys.executable).with_name("meltano"))
# What a scheduler sees of the DAG, read through Airflow's own DagBag.
INSPECT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("moovitamix_daily")
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "cron": dag.timetable.expression if dag else None,
    "max_active_runs": dag.max_active_runs if dag else None,
    "tasks": [{"id": task.task_id, "downstream": sorted(task.downstream_task_ids), "retries": task.retries,
               "command": task.bash_command, "env": task.env} for task in (dag.tasks if dag else [])],
}))
"""

needs_airflow = pytest.mark.skipif(not AIRFLOW_PYTHON.exists(), reason="Airflow's venv is missing: run `make test`")


def airflow_env(base: dict[str, str], home: Path) -> dict[str, str]:
    return {**base, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "MOOVITAMIX_HOME": str(PROJECT_ROOT)}


def test_the_yaml_job_is_meltanos_job() -> None:
    listed = subprocess.run([MELTANO, "job", "list", "--format", "json"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, check=True).stdout
    jobs = json.loads(listed[listed.index("{"): listed.rindex("}") + 1])["jobs"]
    assert job_tasks("daily") == next(job["tasks"] for job in jobs if job["job_name"] == "daily")


@needs_airflow
def test_airflow_parses_the_job_steps_in_order_with_retries_and_a_lease(tmp_path: Path) -> None:
    inspected = subprocess.run([str(AIRFLOW_PYTHON), "-c", INSPECT, str(DAGS)], env=airflow_env(dict(os.environ),
                               tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert inspected.returncode == 0, inspected.stderr[-3000:]
    dag = json.loads(inspected.stdout.strip().splitlines()[-1])
    assert dag["errors"] == {}
    tasks = job_tasks("daily")
    assert [task["id"] for task in dag["tasks"]] == [step_name(task) for task in tasks]
    # A chain: each step's only downstream is the next one, the last has none.
    assert [task["downstream"] for task in dag["tasks"]] == [[step_name(t)] for t in tasks[1:]] + [[]]
    for task, operator in zip(tasks, dag["tasks"], strict=True):
        assert "-m orchestrate.run_daily" in operator["command"]
        assert f"--task '{task}'" in operator["command"] or f"--task {task}" in operator["command"]
        assert operator["retries"] >= 1
        # The lease outlives every attempt of a task: 3 attempts of 2 h plus the waits.
        assert float(operator["env"]["RUN_LEASE_HOURS"]) > 6
    assert dag["max_active_runs"] == 1
    assert dag["cron"] == job_schedule("daily") == "0 6 * * *"


@needs_airflow
def test_airflow_dags_test_runs_the_job_into_the_warehouse(postgres_server: LocalPostgres, ops_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    # The API the DAG's extract-load reads: the stand-in here, the client's in production.
    api = el.StandIn(port=int(ops_env["MOOVITAMIX_API_PORT"]), log_path=tmp_path / "api.log",
                     env={"MOOVITAMIX_API_RECORDS": ops_env["MOOVITAMIX_API_RECORDS"]}).start()
    env = airflow_env({**ops_env, "MOOVITAMIX_API_URL": api.url}, tmp_path / "airflow")
    migrated = subprocess.run([str(AIRFLOW_PYTHON), "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    try:
        run = subprocess.run([str(AIRFLOW_PYTHON), "-m", "airflow", "dags", "test", "moovitamix_daily", "2026-12-01"],
                             env=env, capture_output=True, text=True, timeout=900, check=False)
    finally:
        api.stop()
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        runs = warehouse.execute("select run_id, status from ops.pipeline_runs").fetchall()
        assert len(runs) == 1 and runs[0][1] == "success", runs
        steps = warehouse.execute(
            "select step, status from ops.pipeline_steps where run_id = %s order by started_at", (runs[0][0],)
        ).fetchall()
        assert steps == [(step_name(task), "success") for task in job_tasks("daily")]
        # The last task ended the DAG run's lease: the next run may start.
        assert warehouse.execute("select count(*) from ops.run_lease").fetchone()[0] == 0
        el.assert_raw_equals(warehouse, el.truth(api.settings))
        unserved = warehouse.execute(
            "select count(*) from marts.dim_users u where not exists"
            " (select from ml.user_recommendations r where r.user_id = u.user_id)"
        ).fetchone()[0]
    assert unserved == 0


def task_run(env: dict[str, str], run_id: str) -> subprocess.CompletedProcess[str]:
    """One task of the job as the DAG runs it (the bookmark guard: quick, needs no API)."""
    return run_daily(env, "--task", "bookmark-guard", "--run-id", run_id)


def test_a_make_run_waits_for_an_orchestrators_run_between_its_tasks(
    postgres_server: LocalPostgres, ops_env: dict[str, str]
) -> None:
    first = task_run(ops_env, "dag-run-a")
    assert first.returncode == 0, first.stderr[-3000:]
    whole = run_daily(ops_env)
    assert whole.returncode == EXIT_LOCKED, whole.stderr[-3000:]
    assert "run dag-run-a holds the lease of the daily job" in whole.stderr
    assert task_run(ops_env, "dag-run-b").returncode == EXIT_LOCKED
    # The same DAG run goes on (its next task, or a retry).
    assert task_run(ops_env, "dag-run-a").returncode == 0
    # A DAG run that never came back: its lease expires, then another run starts.
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        warehouse.execute("update ops.run_lease set expires_at = now() - interval '1 second'")
    taken_over = task_run(ops_env, "dag-run-b")
    assert taken_over.returncode == 0, taken_over.stderr[-3000:]
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        assert warehouse.execute("select run_id from ops.run_lease").fetchall() == [("dag-run-b",)]
