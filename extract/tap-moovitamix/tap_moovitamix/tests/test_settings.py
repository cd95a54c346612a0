"""Settings: defaults (one owner: the tap), env vars, validation, request headers."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
import requests_mock
import yaml
from singer_sdk.exceptions import ConfigValidationError

from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import API_URL, make_tracks, serve
from tap_moovitamix.tests.helpers import make_tap, sync

TAP_DIR = Path(__file__).parents[2]
EXTRACTORS_YML = TAP_DIR.parent / "extractors.meltano.yml"

SETTINGS = {
    "api_url": "http://127.0.0.1:8000",
    "page_size": 100,
    "start_date": None,
    "auth_token": None,
    "request_timeout": 30,
    "max_retries": 5,
    "backoff_base_seconds": 1.0,
    "backoff_max_seconds": 60.0,
    "user_agent": "tap-moovitamix/0.1.0",
    "max_rejected_ratio": 0.01,
    "max_concurrent_requests": 4,
    "max_shift_rereads": 1,
    "progress_every_pages": 100,
    "run_id": None,
}


def test_every_setting_has_its_default():
    config = TapMoovitamix(config={}, parse_env_config=False).config
    for name, default in SETTINGS.items():
        assert config.get(name) == default, name


def test_every_setting_is_documented_in_the_readme_with_its_env_var():
    readme = (TAP_DIR / "README.md").read_text()
    for name in SETTINGS:
        row = re.search(rf"^\| `{name}` \| `TAP_MOOVITAMIX_{name.upper()}` \|", readme, re.M)
        assert row, f"{name} missing from the README's settings table"


def test_auth_token_is_secret():
    schema = TapMoovitamix.config_jsonschema["properties"]["auth_token"]
    assert schema.get("secret") is True


def test_settings_come_from_env_vars(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TAP_MOOVITAMIX_PAGE_SIZE", "7")
    monkeypatch.setenv("TAP_MOOVITAMIX_MAX_REJECTED_RATIO", "0.5")
    monkeypatch.setenv("TAP_MOOVITAMIX_MAX_SHIFT_REREADS", "3")
    config = TapMoovitamix(config={}, parse_env_config=True).config
    assert config["page_size"] == 7
    assert config["max_rejected_ratio"] == 0.5
    assert config["max_shift_rereads"] == 3


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("page_size", 0, "page_size (env TAP_MOOVITAMIX_PAGE_SIZE): 0 is less than"),
        ("page_size", 101, "101 is greater than the maximum of 100"),
        ("api_url", "ftp://x", "'ftp://x' is not an http(s) URL"),
        ("api_url", "localhost:8000", "is not an http(s) URL"),
        ("start_date", "yesterday", "'yesterday' is not an ISO 8601 date"),
        ("request_timeout", 0, "request_timeout (env TAP_MOOVITAMIX_REQUEST_TIMEOUT)"),
        ("max_retries", -1, "max_retries"),
        ("max_rejected_ratio", 1.5, "max_rejected_ratio"),
        ("max_concurrent_requests", 0, "max_concurrent_requests"),
        ("user_agent", "", "user_agent"),
        ("max_shift_rereads", -1, "max_shift_rereads (env TAP_MOOVITAMIX_MAX_SHIFT_REREADS)"),
        ("progress_every_pages", 0, "progress_every_pages"),
    ],
)
def test_an_invalid_setting_fails_at_start_with_one_message(
    setting: str, value: t.Any, expected: str
):
    with pytest.raises(ConfigValidationError) as raised:
        TapMoovitamix(config={setting: value}, parse_env_config=False)
    assert len(raised.value.errors) == 1
    assert raised.value.errors[0].startswith("invalid tap-moovitamix settings: ")
    assert expected in raised.value.errors[0]


def test_empty_optional_settings_count_as_unset():
    tap = TapMoovitamix(
        config={"start_date": "", "auth_token": "", "run_id": ""}, parse_env_config=False
    )
    assert len(tap.run_id) == 36  # a fresh UUID
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(2))
        tap_config = {"api_url": API_URL, "start_date": "", "auth_token": ""}
        records = sync(TapMoovitamix(config=tap_config, parse_env_config=False), "tracks")
        assert "Authorization" not in mocker.request_history[0].headers
    assert len(records) == 2


def test_several_invalid_settings_are_one_message():
    with pytest.raises(ConfigValidationError) as raised:
        TapMoovitamix(config={"page_size": 0, "start_date": "x"}, parse_env_config=False)
    [message] = raised.value.errors
    assert "page_size" in message
    assert "start_date" in message


def test_headers_carry_user_agent_and_bearer_token():
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(1))
        sync(make_tap(auth_token="s3cret", user_agent="moo/1"), "tracks")
        headers = mocker.request_history[0].headers
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["User-Agent"] == "moo/1"


def test_no_authorization_header_without_a_token():
    with requests_mock.Mocker() as mocker:
        serve(mocker, "/tracks", make_tracks(1))
        sync(make_tap(), "tracks")
        assert "Authorization" not in mocker.request_history[0].headers


def test_defaults_have_one_owner_the_tap():
    # Meltano passes the tap only the settings it has a value for, and the tap applies
    # its schema's defaults to the rest: a `value:` in extractors.meltano.yml would be a
    # second copy of a default, free to drift from the tap's.
    plugins = yaml.safe_load(EXTRACTORS_YML.read_text())["plugins"]["extractors"]
    [tap] = [plugin for plugin in plugins if plugin["name"] == "tap-moovitamix"]
    declared = {setting["name"]: setting for setting in tap["settings"]}
    assert set(declared) == set(SETTINGS)
    assert all("kind" in setting for setting in declared.values())
    assert [name for name, setting in declared.items() if "value" in setting] == []
    defaulted = {name for name, default in SETTINGS.items() if default is not None}
    assert defaulted.isdisjoint(tap.get("config", {}))
