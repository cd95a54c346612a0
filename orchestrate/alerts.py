"""Alerts: one Slack-compatible JSON message per run that needs a human, always logged.

Sent to ALERT_WEBHOOK_URL when set (Slack incoming webhook, or anything that accepts
the same body: {"text": ..., "attachments": [{"fields": [...]}]}). Delivery retries with
exponential backoff (ALERT_RETRIES, ALERT_BACKOFF_SECONDS) on connection errors, 429
and 5xx. A failed delivery is logged and returns False: it never raises, so it can
never hide the run's own error.
"""

from __future__ import annotations

import os
import time

import requests

from orchestrate.health import Finding
from orchestrate.runlog import RunLog
from orchestrate.settings import number_or_default

# What the operator sees and does for each failure, in the repository.
RUNBOOK = "docs/RUNBOOK.md"


def build_message(run_id: str, status: str, error: str | None, findings: list[Finding], report: str | None) -> dict:
    breached = [finding for finding in findings if finding.breached]
    headline = f"MooVitamix daily run {run_id}: {status.upper()}"
    if error:
        headline += f" — {error}"
    elif breached:
        headline += f" — {len(breached)} threshold(s) crossed"
    fields = [
        {"title": f"{finding.metric} · {finding.subject}", "value": finding.message, "short": False}
        for finding in breached
    ]
    if report:
        fields.append({"title": "health report", "value": report, "short": False})
    fields.append({"title": "what to do", "value": RUNBOOK, "short": False})
    return {
        "text": headline,
        "attachments": [{"color": "danger" if status != "success" else "warning", "fields": fields}],
        # Not read by Slack; kept for receivers that parse the figures.
        "run_id": run_id,
        "figures": [
            {"metric": f.metric, "subject": f.subject, "value": f.value, "threshold": f.threshold}
            for f in breached
        ],
    }


def send(message: dict, log: RunLog) -> bool:
    """Log the alert, then deliver it if a webhook is configured; True when delivered."""
    log.event("alert", level="warning", text=message["text"], breaches=len(message["figures"]))
    url = os.environ.get("ALERT_WEBHOOK_URL")
    if not url:
        return False
    attempts = int(number_or_default("ALERT_RETRIES")) + 1
    delay = number_or_default("ALERT_BACKOFF_SECONDS")
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=message, timeout=10)
            if response.status_code < 300:
                log.event("alert.delivered", attempt=attempt, status=response.status_code)
                return True
            reason = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                log.event("alert.rejected", level="error", attempt=attempt, reason=reason)
                return False  # a 4xx other than 429 will not change on retry
        except requests.RequestException as error:
            reason = type(error).__name__
        log.event("alert.retry" if attempt < attempts else "alert.undelivered",
                  level="warning" if attempt < attempts else "error", attempt=attempt, reason=reason)
        if attempt < attempts:
            time.sleep(delay * 2 ** (attempt - 1))
    return False
