"""The API down for a whole run, back the next day."""

from __future__ import annotations

import socket

from local.postgres import LocalPostgres
from local.webhook import AlertReceiver
from tests.conftest import run_daily
from tests.faults.harness import assert_warehouse_is_the_truth, statuses


def test_the_api_down_for_a_whole_run_then_back_the_next_day(
    postgres_server: LocalPostgres, ops_env: dict[str, str], alert_receiver: AlertReceiver
) -> None:
    env = {**ops_env, "ALERT_WEBHOOK_URL": alert_receiver.url}
    with socket.socket() as closed:  # a port nobody listens on: the API is down
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}"
    first = run_daily({**env, "MOOVITAMIX_API_URL": down}, "--run-id", "fault-api-down")
    assert first.returncode == 1
    [error] = [line for line in first.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: the MooVitamix API at {down} is unreachable")
    assert statuses(postgres_server, env) == {"fault-api-down": "failed"}
    assert [body["text"] for body in alert_receiver.bodies] == [
        f"MooVitamix daily run fault-api-down: FAILED — {error.removeprefix('error: ')}"]

    back = run_daily(env, "--run-id", "fault-api-back")  # the next day: the stand-in answers
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    assert statuses(postgres_server, env) == {"fault-api-down": "failed", "fault-api-back": "success"}
    assert_warehouse_is_the_truth(postgres_server, env)
    print("outcome: the run against the API down failed before any step with one line and one alert;"
          " the next run read everything; the warehouse equals the stand-in's truth")
