"""The SDK's standard tap tests, run against a fake API."""

from __future__ import annotations

import typing as t

import pytest
import requests_mock
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_moovitamix.tap import TapMoovitamix
from tap_moovitamix.tests.fake_api import (
    API_URL,
    make_listen_history,
    make_tracks,
    make_users,
    serve,
)

SAMPLE_CONFIG = {"api_url": API_URL, "page_size": 2}


@pytest.fixture(scope="module", autouse=True)
def fake_api() -> t.Iterator[requests_mock.Mocker]:
    """Serve a few small pages per endpoint for every test in this module.

    Module scope, so the mock is already active when the SDK's class-scoped runner
    syncs the tap. real_http=True lets anything not mocked here through untouched.
    """
    with requests_mock.Mocker(real_http=True) as mocker:
        serve(mocker, "/tracks", make_tracks(5))
        serve(mocker, "/users", make_users(5))
        serve(mocker, "/listen_history", make_listen_history(5))
        yield mocker


TestTapMoovitamix = get_tap_test_class(
    tap_class=TapMoovitamix,
    config=SAMPLE_CONFIG,
    # Hermetic: a TAP_MOOVITAMIX_* variable in the shell must not redirect the tests.
    parse_env_config=False,
    # rejected_records has no records of its own when every record is valid.
    suite_config=SuiteConfig(ignore_no_records_for_streams=["rejected_records"]),
)


def test_standard_sync_read_every_page_of_every_endpoint(fake_api: requests_mock.Mocker):
    # Runs after the standard tests in this module, so their syncs are in the history:
    # 5 records at size 2 is pages 1, 2, 3 per endpoint, never page 4.
    pages_by_path: dict[str, set[int]] = {}
    for request in fake_api.request_history:
        pages_by_path.setdefault(request.path, set()).add(int(request.qs["page"][0]))
    assert pages_by_path == {
        "/tracks": {1, 2, 3},
        "/users": {1, 2, 3},
        "/listen_history": {1, 2, 3},
    }
