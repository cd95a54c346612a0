"""HTTP faults: what is retried, how long the tap waits, what fails at once and how."""

from __future__ import annotations

import threading
import time
import typing as t

import pytest
import requests
import requests_mock
from singer_sdk.exceptions import FatalAPIError

from tap_moovitamix.errors import RetriesExhaustedError
from tap_moovitamix.pagination import WalkStoppedError
from tap_moovitamix.tests.fake_api import API_URL, make_tracks, page_json
from tap_moovitamix.tests.helpers import make_tap, sync

# No test here sleeps: the waits between attempts are recorded (conftest.py).
pytestmark = pytest.mark.usefixtures("waits")


def ok(records: list[dict]) -> dict[str, t.Any]:
    return {"json": page_json(records, total=len(records), pages=1), "status_code": 200}


@pytest.mark.parametrize(
    "fault",
    [
        {"status_code": 500},
        {"status_code": 502},
        {"status_code": 503},
        {"exc": requests.exceptions.ConnectTimeout},
        {"exc": requests.exceptions.ReadTimeout},
        {"exc": requests.exceptions.ConnectionError},
        {"exc": requests.exceptions.ChunkedEncodingError},
        {"text": '{"items": [{"id": 1', "status_code": 200},  # truncated JSON
        {"text": "<html>oops</html>", "status_code": 200},
        {"json": {"detail": "not an envelope"}, "status_code": 200},
    ],
    ids=[
        "500",
        "502",
        "503",
        "connect-timeout",
        "read-timeout",
        "dropped",
        "chunked",
        "truncated-json",
        "not-json",
        "not-envelope",
    ],
)
def test_transient_faults_are_retried(fault: dict[str, t.Any], waits: list[float]):
    tracks = make_tracks(3)
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", [fault, fault, ok(tracks)])
        assert sync(make_tap(), "tracks") == tracks
        assert mocker.call_count == 3
    assert len(waits) == 2


def test_backoff_is_exponential_with_jitter_and_capped(waits: list[float]):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=503)
        with pytest.raises(RetriesExhaustedError):
            sync(make_tap(max_retries=6, backoff_base_seconds=1, backoff_max_seconds=8), "tracks")
    # Delays 1, 2, 4, 8, 8, 8: each wait is in [delay/2, delay].
    for wait, delay in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        assert delay / 2 <= wait <= delay


def test_retry_after_is_honoured_on_429(waits: list[float]):
    tracks = make_tracks(2)
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks",
            [
                {"status_code": 429, "headers": {"Retry-After": "7"}},
                {"status_code": 429, "headers": {"Retry-After": "3"}},
                ok(tracks),
            ],
        )
        assert sync(make_tap(backoff_max_seconds=60), "tracks") == tracks
    assert waits == [7.0, 3.0]


def test_retry_after_as_an_http_date_is_honoured(waits: list[float]):
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks",
            [{"status_code": 429, "headers": {"Retry-After": when}}, ok(make_tracks(1))],
        )
        sync(make_tap(backoff_max_seconds=60), "tracks")
    assert 25 <= waits[0] <= 31


def test_retry_after_is_capped_by_backoff_max_seconds(waits: list[float]):
    with requests_mock.Mocker() as mocker:
        mocker.get(
            f"{API_URL}/tracks",
            [{"status_code": 429, "headers": {"Retry-After": "86400"}}, ok(make_tracks(1))],
        )
        sync(make_tap(backoff_max_seconds=5), "tracks")
    assert waits == [5.0]


def test_giving_up_names_the_url_the_status_and_the_attempts():
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=503)
        with pytest.raises(RetriesExhaustedError) as raised:
            sync(make_tap(max_retries=3), "tracks")
        assert mocker.call_count == 4
    message = str(raised.value)
    assert f"{API_URL}/tracks?page=1&size=100" in message
    assert "after 4 attempts" in message
    assert "last status: 503" in message


def test_giving_up_on_timeouts_says_there_was_no_response():
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", exc=requests.exceptions.ReadTimeout)
        with pytest.raises(RetriesExhaustedError, match="last status: no response"):
            sync(make_tap(max_retries=1), "tracks")


def test_401_is_fatal_at_once_with_a_clear_message(waits: list[float]):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=401)
        with pytest.raises(FatalAPIError, match="bad or missing token") as raised:
            sync(make_tap(), "tracks")
        assert mocker.call_count == 1
    assert not isinstance(raised.value, RetriesExhaustedError)
    assert waits == []


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_4xx_are_fatal_at_once(status: int):
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", status_code=status, text="nope")
        with pytest.raises(FatalAPIError, match=f"HTTP {status}"):
            sync(make_tap(), "tracks")
        assert mocker.call_count == 1


def test_a_failing_later_page_fails_the_stream_after_retries():
    tracks = make_tracks(300)

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:
        page = int(request.qs["page"][0])
        if page == 3:
            context.status_code = 500
            return {}
        return page_json(tracks[(page - 1) * 100 : page * 100], total=300, pages=3, page=page)

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_of)
        with pytest.raises(RetriesExhaustedError, match="page=3"):
            sync(make_tap(max_retries=2), "tracks")


def test_a_page_no_longer_wanted_is_not_requested():
    stop = threading.Event()
    stop.set()  # the walk ended before this page's turn came
    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=page_json(make_tracks(1), total=1, pages=1))
        with pytest.raises(WalkStoppedError):
            make_tap().streams["tracks"].fetch_page(2, stop)
        assert mocker.call_count == 0


def test_a_failed_page_no_longer_wanted_is_not_retried(waits: list[float]):
    stop = threading.Event()

    def fail_and_stop(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        stop.set()  # the walk ends while this page's first attempt is under way
        context.status_code = 503
        return {}

    with requests_mock.Mocker() as mocker:
        mocker.get(f"{API_URL}/tracks", json=fail_and_stop)
        with pytest.raises(WalkStoppedError):
            make_tap().streams["tracks"].fetch_page(2, stop)
        assert mocker.call_count == 1
    assert waits == []
