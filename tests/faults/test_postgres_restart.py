"""The warehouse's server restarted under each kind of step: the step is run again from
where it stood (every step is idempotent), the run succeeds, and the warehouse is exact."""

from __future__ import annotations

import pytest

from local.postgres import LocalPostgres
from local.webhook import AlertReceiver
from tests.conftest import run_daily, wait_for
from tests.faults.harness import (
    assert_warehouse_is_the_truth,
    start_run,
    statuses,
    wait_for_step,
)


def restart(server: LocalPostgres, mode: str) -> None:
    # -l: the restarted server writes its log there, not into this test's pipe.
    restarted = server._run("pg_ctl", "restart", "-D", str(server.cluster_dir), "-m", mode, "-w",
                            "-l", str(server.log_file))
    assert restarted.returncode == 0, restarted.stderr


def retries(server: LocalPostgres, env: dict[str, str], run_id: str) -> dict[str, float]:
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        return dict(connection.execute(
            "select step, value from ops.pipeline_figures where run_id = %s and metric = 'restart_retries'",
            (run_id,)).fetchall())


def someone_waits_for_a_lock(server: LocalPostgres, env: dict[str, str]) -> bool:
    with server.connect(env["WAREHOUSE_DB"]) as connection:
        return connection.execute(
            "select exists (select from pg_locks l join pg_database d on d.oid = l.database"
            " where not l.granted and d.datname = %s)", (env["WAREHOUSE_DB"],)).fetchone()[0]


def hold_until_blocked(server: LocalPostgres, env: dict[str, str], table: str) -> None:
    """Takes `table` from the step (its session then waits, surely inside the step) until
    the restart ends this session with every other."""
    holder = server.connect(env["WAREHOUSE_DB"])
    holder.execute("begin")  # the lock lasts as long as this transaction: until the restart
    holder.execute(f"lock table {table} in access exclusive mode")
    wait_for(lambda: someone_waits_for_a_lock(server, env), 120)


@pytest.mark.parametrize(("step", "marker", "table", "mode"), [
    # A slow API keeps the extract-load going long enough to be cut in its middle.
    ("tap_moovitamix_target_postgres", "Beginning sync", None, "immediate"),
    # dbt's first node reads the listens: it waits there for the test's lock.
    ("dbt_postgres_build", "", "raw.listen_history", "fast"),
    # The gate decided; the publication's staging copy and its swap wait for the live table.
    ("recommender_run", "event=gate", "ml.user_recommendations", "immediate"),
], ids=["extract_load-immediate", "dbt_build-fast", "publication-immediate"])
def test_postgres_restarted_during_a_step(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver,
    step: str, marker: str, table: str | None, mode: str,
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    slow = {} if table else {"MOOVITAMIX_API_FAULT_SLOW_RATE": "1", "MOOVITAMIX_API_SLOW_SECONDS": "4"}
    run = start_run({**env, **slow}, "fault-restart")
    wait_for_step(postgres_server, env, "fault-restart", step, marker)
    if table:
        hold_until_blocked(postgres_server, env, table)
    restart(postgres_server, mode)
    _, stderr = run.communicate(timeout=900)

    # The step that lost its sessions ran again, from where it stood, and the day succeeded
    # with no alert; the ledger keeps the retry as a figure of the step.
    assert run.returncode == 0, stderr.decode()[-3000:]
    assert statuses(postgres_server, env) == {"fault-restart": "success"}
    assert retries(postgres_server, env, "fault-restart") == {step: 1}
    assert alert_receiver.bodies == []
    assert_warehouse_is_the_truth(postgres_server, env)

    rerun = run_daily(env, "--run-id", "fault-rerun")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert statuses(postgres_server, env) == {"fault-restart": "success", "fault-rerun": "success"}
    assert_warehouse_is_the_truth(postgres_server, env)
    print(f"outcome: {step} was cut by `pg_ctl restart -m {mode}`, ran again, and the run succeeded with no"
          " alert; the rerun succeeded; the warehouse equals the stand-in's truth")
