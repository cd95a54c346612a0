"""Fixtures of the supervisor's unit tests."""

from local.webhook import alert_receiver  # noqa: F401 (a fixture: a webhook that keeps what it gets)
