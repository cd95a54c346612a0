"""Every numeric setting of the supervisor is checked at start-up, in one line."""

from __future__ import annotations

import pytest

from orchestrate.settings import RETIRED, SETTINGS, number, validate
from orchestrate.startup import StartupError


def test_defaults_hold_when_nothing_is_set() -> None:
    validate({})
    assert number("ALERT_RETRIES", {}) == 4
    assert number("OPS_VOLUME_MAX_DROP_PCT", {" ": ""}) == 20
    assert number("RUN_LEASE_HOURS", {"RUN_LEASE_HOURS": ""}) == 6


@pytest.mark.parametrize(("variable", "value", "allowed"), [
    ("MOOVITAMIX_API_PORT", "abc", "a whole number of at least 1 and at most 65535"),
    ("WAREHOUSE_PORT", "70000", "a whole number of at least 1 and at most 65535"),
    ("ALERT_RETRIES", "abc", "a whole number of at least 0 and at most 20"),
    ("ALERT_RETRIES", "2.5", "a whole number"),
    ("OPS_MAX_REJECT_RATIO", "abc", "a number of at least 0 and at most 1"),
    ("OPS_MAX_REJECT_RATIO", "nan", "a number of at least 0 and at most 1"),
    ("OPS_DURATION_FACTOR", "0.5", "a number of at least 1"),
    ("RUN_LEASE_HOURS", "-1", "a number of at least 0.01"),
])
def test_a_wrong_value_is_named_with_what_is_allowed(variable: str, value: str, allowed: str) -> None:
    with pytest.raises(StartupError) as raised:
        validate({variable: value})
    assert str(raised.value).startswith(f"{variable}={value!r} is not allowed: it must be ")
    assert allowed in str(raised.value)


def test_every_allowed_default_is_within_its_own_range() -> None:
    for variable, setting in SETTINGS.items():
        if setting.default:  # 0: the server's own default (ports)
            assert number(variable, {variable: str(setting.default)}) == setting.default


@pytest.mark.parametrize("variable", sorted(RETIRED))
def test_a_retired_name_stops_the_run_and_says_what_to_set(variable: str) -> None:
    # Ignored without a word, QUALITY_VOLUME_MAX_DROP_PCT=100 would no longer let a drop through.
    with pytest.raises(StartupError) as raised:
        validate({variable: "100"})
    assert str(raised.value) == f"{variable} is no longer read: {RETIRED[variable]}"
    validate({variable: ""})  # set but empty: as if unset


def test_no_retired_name_is_still_a_setting() -> None:
    assert not set(RETIRED) & set(SETTINGS)
