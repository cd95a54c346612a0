"""Settings from MOOVITAMIX_API_* variables, their validation, and the optional bearer token."""

from __future__ import annotations

import subprocess

import pytest
from fastapi.testclient import TestClient

from api.stand_in.app import create_app
from api.stand_in.settings import Faults, Settings, SettingsError, load_settings
from api.tests.conftest import api_process


def test_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert (settings.mode, settings.port, settings.tracks, settings.users, settings.seed) == (
        "realistic", 8000, 1000, 1000, 42,
    )  # fmt: skip
    assert (settings.day, settings.universe, settings.token, settings.faults.any()) == (0, 0, None, False)
    assert load_settings({"MOOVITAMIX_API_PORT": " "}).port == 8000  # empty means unset


def test_every_variable_is_read() -> None:
    settings = load_settings(
        {
            "MOOVITAMIX_API_MODE": "shipped",
            "MOOVITAMIX_API_RECORDS": "500",
            "MOOVITAMIX_API_USERS": "70",
            "MOOVITAMIX_API_DAY": "3",
            "MOOVITAMIX_API_SEED": "-4",
            "MOOVITAMIX_API_TOKEN": "s3cret",
            "MOOVITAMIX_API_FAULT_SHIFT_RATE": "0.25",
            "MOOVITAMIX_API_RETRY_AFTER": "7",
        }
    )
    assert (settings.mode, settings.tracks, settings.users, settings.day, settings.seed) == ("shipped", 500, 70, 3, -4)
    assert (settings.token, settings.faults, settings.retry_after) == ("s3cret", Faults(shift=0.25), 7)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MOOVITAMIX_API_PORT": "0"}, "MOOVITAMIX_API_PORT must be an integer in 1..65535, got '0'"),
        ({"MOOVITAMIX_API_RECORDS": "1e3"}, "MOOVITAMIX_API_RECORDS must be an integer in 1..10000000"),
        ({"MOOVITAMIX_API_SEED": "x"}, "MOOVITAMIX_API_SEED must be an integer, got 'x'"),
        ({"MOOVITAMIX_API_MODE": "fancy"}, "MOOVITAMIX_API_MODE must be one of realistic, shipped"),
        ({"MOOVITAMIX_API_FAULT_500_RATE": "2"}, "MOOVITAMIX_API_FAULT_500_RATE must be a number in 0.0..1.0"),
        ({"MOOVITAMIX_API_FAULT_429_RATE": "nan"}, "MOOVITAMIX_API_FAULT_429_RATE must be a number"),
        ({"MOOVITAMIX_API_DAY": "366"}, "MOOVITAMIX_API_DAY must be an integer in 0..365"),
        ({"MOOVITAMIX_API_UNIVERSE": "-1"}, "MOOVITAMIX_API_UNIVERSE must be an integer >= 0"),
        ({"MOOVITAMIX_API_TRACKS": "10"}, "MOOVITAMIX_API_TRACKS must be at least 15 in realistic mode"),
        ({"MOOVITAMIX_API_DAY": "300", "MOOVITAMIX_API_DAILY_NEW": "0.5"}, "more than the id range"),
    ],
)
def test_bad_values_are_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(env)
    assert str(error.value).startswith("error: ") and message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MOOVITAMIX_API_PORT", "http"), ("MOOVITAMIX_API_MODE", "x"), ("MOOVITAMIX_API_FAULT_SLOW_RATE", "-1")],
)
def test_invalid_env_is_one_line_and_exit_2(name: str, value: str) -> None:
    proc = api_process({name: value}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {name} must be"), stderr


def test_bearer_token_when_set() -> None:
    client = TestClient(create_app(Settings(tracks=50, users=50, token="s3cret")))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        response = client.get("/tracks", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"detail": "Not authenticated"}
    assert client.get("/tracks", headers={"Authorization": "Bearer s3cret"}).json()["total"] == 50
    assert client.get("/docs").status_code == 200  # the docs stay public


def test_no_token_by_default() -> None:
    assert TestClient(create_app(Settings(tracks=50, users=50))).get("/users").status_code == 200
