"""Alerts against a real local HTTP receiver on 127.0.0.1: body, retries with backoff,
and an undeliverable alert that neither raises nor hides anything."""

from __future__ import annotations

import io
import json

import pytest

from local.webhook import AlertReceiver
from orchestrate import alerts
from orchestrate.health import Finding
from orchestrate.project import PROJECT_ROOT
from orchestrate.runlog import RunLog

FINDINGS = [
    Finding("duration_s", "dbt_postgres_build", 300.0, 60.0, True, "dbt_postgres_build took 300 s (limit 60 s)"),
    Finding("reject_ratio", "extract", 0.0, 0.001, False, "0 rejected"),
]


def run_log() -> tuple[RunLog, io.StringIO]:
    stream = io.StringIO()
    return RunLog("run-42", None, stream), stream


def test_message_is_slack_compatible_and_carries_the_figures() -> None:
    message = alerts.build_message("run-42", "failed", "dbt exited with code 1", FINDINGS, "/tmp/r.html")
    assert message["text"].startswith("MooVitamix daily run run-42: FAILED")
    assert "dbt exited with code 1" in message["text"]
    fields = message["attachments"][0]["fields"]
    # Only the crossed threshold is reported, plus where the report is.
    assert [f["title"] for f in fields] == ["duration_s · dbt_postgres_build", "health report", "what to do"]
    assert (PROJECT_ROOT / fields[-1]["value"]).is_file()
    assert message["figures"] == [
        {"metric": "duration_s", "subject": "dbt_postgres_build", "value": 300.0, "threshold": 60.0}
    ]
    json.dumps(message)  # a webhook body must serialise


@pytest.mark.parametrize("alert_receiver", [[503, 429]], indirect=True)
def test_delivery_retries_with_backoff_until_accepted(
    alert_receiver: AlertReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URL", alert_receiver.url)
    monkeypatch.setenv("ALERT_BACKOFF_SECONDS", "0.01")
    log, stream = run_log()
    assert alerts.send(alerts.build_message("run-42", "failed", "boom", FINDINGS, None), log) is True
    assert len(alert_receiver.bodies) == 3
    assert alert_receiver.bodies[-1]["text"].startswith("MooVitamix daily run run-42: FAILED — boom")
    logged = stream.getvalue()
    assert "event=alert " in logged and "run_id=run-42" in logged
    assert logged.count("event=alert.retry") == 2 and "event=alert.delivered" in logged


@pytest.mark.parametrize("alert_receiver", [[400]], indirect=True)
def test_a_client_error_is_not_retried(alert_receiver: AlertReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_WEBHOOK_URL", alert_receiver.url)
    log, stream = run_log()
    assert alerts.send(alerts.build_message("run-42", "failed", "boom", [], None), log) is False
    assert len(alert_receiver.bodies) == 1
    assert "event=alert.rejected" in stream.getvalue()


def test_an_unreachable_webhook_is_logged_never_raised(
    alert_receiver: AlertReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = alert_receiver.url
    alert_receiver.shutdown()
    alert_receiver.server_close()  # nothing listens there any more: connection refused
    monkeypatch.setenv("ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("ALERT_RETRIES", "2")
    monkeypatch.setenv("ALERT_BACKOFF_SECONDS", "0.01")
    log, stream = run_log()
    assert alerts.send(alerts.build_message("run-42", "failed", "boom", [], None), log) is False
    logged = stream.getvalue()
    assert logged.count("event=alert.retry") == 2
    assert "event=alert.undelivered" in logged and "reason=ConnectionError" in logged
    # The alert itself is always in the log, webhook or not.
    assert 'text="MooVitamix daily run run-42: FAILED — boom"' in logged


def test_without_a_webhook_the_alert_is_only_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    log, stream = run_log()
    assert alerts.send(alerts.build_message("run-42", "success", None, FINDINGS, None), log) is False
    assert "1 threshold(s) crossed" in stream.getvalue()


def test_json_log_lines_carry_the_run_id(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    stream = io.StringIO()
    log = RunLog("run-42", tmp_path / "run.jsonl", stream)
    log.event("step.start", step="dbt", index=2)
    log.close()
    for line in (stream.getvalue().strip(), (tmp_path / "run.jsonl").read_text().strip()):
        record = json.loads(line)
        assert record["run_id"] == "run-42" and record["event"] == "step.start" and record["index"] == 2
