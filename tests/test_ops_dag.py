"""The Airflow DAG imports and defines the job's tasks, in the job's order, with retries.

Airflow itself is not installed for this test: it is heavy (hundreds of MB and many
pinned dependencies that clash with Meltano's). The DAG file is imported for real, but
against a recording stand-in of the only Airflow names it uses (`airflow.DAG` as a
context manager, `BashOperator`, `>>`): the file's own logic runs (reading meltano.yml,
building one task per step, chaining them), and the test reads what it built. That the
job definition read from the YAML is Meltano's own is checked against
`meltano job list --format json`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from orchestrate.job_definition import job_schedule, job_tasks, step_name
from orchestrate.local_postgres import PROJECT_ROOT

DAG_FILE = PROJECT_ROOT / "orchestrate" / "dags" / "moovitamix_daily.py"
MELTANO = str(Path(sys.executable).with_name("meltano"))


class RecordedDag:
    current: RecordedDag | None = None

    def __init__(self, dag_id: str, **options: object) -> None:
        self.dag_id, self.options, self.tasks = dag_id, options, []

    def __enter__(self) -> RecordedDag:
        RecordedDag.current = self
        return self

    def __exit__(self, *exc: object) -> None:
        RecordedDag.current = None


class RecordedOperator:
    def __init__(self, task_id: str, bash_command: str, **options: object) -> None:
        assert RecordedDag.current is not None, "operator created outside the DAG context"
        self.task_id, self.bash_command, self.options, self.downstream = task_id, bash_command, options, []
        RecordedDag.current.tasks.append(self)

    def __rshift__(self, other: RecordedOperator) -> RecordedOperator:
        self.downstream.append(other)
        return other


@pytest.fixture
def dag(monkeypatch: pytest.MonkeyPatch) -> RecordedDag:
    airflow = types.ModuleType("airflow")
    airflow.DAG = RecordedDag
    bash = types.ModuleType("airflow.providers.standard.operators.bash")
    bash.BashOperator = RecordedOperator
    packages = ["airflow.providers", "airflow.providers.standard", "airflow.providers.standard.operators"]
    for name in packages:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "airflow", airflow)
    monkeypatch.setitem(sys.modules, bash.__name__, bash)
    spec = importlib.util.spec_from_file_location("moovitamix_daily", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_the_yaml_job_is_meltanos_job() -> None:
    listed = subprocess.run([MELTANO, "job", "list", "--format", "json"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, check=True).stdout
    jobs = json.loads(listed[listed.index("{"): listed.rindex("}") + 1])["jobs"]
    assert job_tasks("daily") == next(job["tasks"] for job in jobs if job["job_name"] == "daily")


def test_dag_defines_the_job_steps_in_order_with_retries(dag: RecordedDag) -> None:
    tasks = job_tasks("daily")
    assert [task.task_id for task in dag.tasks] == [step_name(task) for task in tasks]
    assert [task.task_id for task in dag.tasks] == [
        "bookmark_guard", "tap_moovitamix_target_postgres", "dbt_postgres_freshness", "dbt_postgres_build",
        "soda_verify_all", "recommender_run",
    ]
    # A chain: each step's only downstream is the next one, the last has none.
    for upstream, downstream in zip(dag.tasks, dag.tasks[1:], strict=False):
        assert upstream.downstream == [downstream]
    assert dag.tasks[-1].downstream == []
    for task, operator in zip(tasks, dag.tasks, strict=True):
        assert "-m orchestrate.run_daily" in operator.bash_command
        assert f"--task '{task}'" in operator.bash_command or f"--task {task}" in operator.bash_command
        assert "--run-id '{{ run_id }}'" in operator.bash_command
    assert dag.options["default_args"]["retries"] >= 1
    assert dag.options["max_active_runs"] == 1
    assert dag.options["schedule"] == job_schedule("daily") == "0 6 * * *"
