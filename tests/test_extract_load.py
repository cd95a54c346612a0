"""Extract-load integration tests: the real pipeline, the real stand-in.

Each test serves the stand-in (`python -m api.stand_in`, own port, MOOVITAMIX_API_* env) with a
fault or a day or a universe, runs the real `meltano run tap-moovitamix target-postgres`
into a real Postgres database of its own (with a Meltano system DB of its own, so state
never leaks between tests), and checks raw.* field for field against `api.stand_in.world`, the
simulator's truth: every key (id, created_at), updated_at and content, no duplicate,
nothing missing; and that the saved bookmark is never ahead of what was loaded.

Record counts are small (a few hundred per endpoint) and pages small (so a fault rate
meets several pages); the cost of a test is mostly Meltano's and the plugins' start-up.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from local.postgres import LocalPostgres
from tests import el_harness as el
from tests.conftest import connect, free_port, job_environment, recreate_database

RECORDS = "300"
PAGE_SIZE = "25"  # 12 pages per endpoint: enough requests for a fault rate to show


@dataclass
class Scenario:
    """One test's world: its database, its Meltano state, the stand-ins it started."""

    postgres: LocalPostgres
    database: str
    workdir: Path
    env: dict[str, str]
    apis: list[el.StandIn] = field(default_factory=list)
    runs: int = 0

    @property
    def pipeline_log(self) -> Path:
        return self.workdir / "pipeline.log"

    def serve(self, *, at: el.StandIn | None = None, **api_env: str) -> el.StandIn:
        """Start a stand-in with these MOOVITAMIX_API_* settings (records and seed fixed here);
        `at`: on the URL of that (stopped) one: the same API restarted, not another source."""
        settings = {"MOOVITAMIX_API_RECORDS": RECORDS, "MOOVITAMIX_API_RETRY_AFTER": "1", **api_env}
        port = at.port if at else free_port()
        api = el.StandIn(port=port, log_path=self.workdir / f"api-{len(self.apis)}.log", env=settings)
        self.apis.append(api)
        return api.start()

    def pipeline_env(self, api: el.StandIn, **tap_env: str) -> dict[str, str]:
        return el.pipeline_env(self.env, api.url, TAP_MOOVITAMIX_PAGE_SIZE=PAGE_SIZE, **tap_env)

    def run(self, api: el.StandIn, *, force: bool = False, guard: bool = False,
            **tap_env: str) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        with self.pipeline_log.open("a") as log:
            log.write(f"\n===== run {self.runs} against {api.url} {tap_env} =====\n")
        return el.run_pipeline(self.pipeline_env(api, **tap_env), self.pipeline_log, force=force, guard=guard)

    def connect(self) -> psycopg.Connection:
        return connect(self.postgres, self.database)

    def stop(self) -> None:
        for api in self.apis:
            api.stop()


def succeeded(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, "meltano run failed:\n" + (result.stdout + result.stderr)[-4000:]


@pytest.fixture
def scenario(postgres_server: LocalPostgres, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Scenario]:
    # One database per test (a short, legal name derived from the test's own).
    database = "el_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    recreate_database(postgres_server, database)
    env = job_environment(tmp_path, database)
    env["MELTANO_SYS_DIR_ROOT"] = str(el.private_sys_dir(tmp_path))
    world = Scenario(postgres_server, database, tmp_path, env)
    yield world
    world.stop()


# --- one fault kind at a time -----------------------------------------------------------

# kind -> (stand-in env, tap env, fault kinds that must show in the stand-in's log)
FAULTS: dict[str, tuple[dict[str, str], dict[str, str], tuple[str, ...]]] = {
    "http_500_503": (
        {"MOOVITAMIX_API_FAULT_500_RATE": "0.15", "MOOVITAMIX_API_FAULT_503_RATE": "0.15"},
        {},
        ("http_500", "http_503"),
    ),
    "http_429_retry_after": ({"MOOVITAMIX_API_FAULT_429_RATE": "0.1"}, {}, ("http_429",)),
    # Slower than the tap's timeout: each slow response is a timeout, then a retry.
    "slow_timeout": (
        {"MOOVITAMIX_API_FAULT_SLOW_RATE": "0.1", "MOOVITAMIX_API_SLOW_SECONDS": "3"},
        {"TAP_MOOVITAMIX_REQUEST_TIMEOUT": "1"},
        ("slow",),
    ),
    "dropped_connection": ({"MOOVITAMIX_API_FAULT_DROP_RATE": "0.15"}, {}, ("drop",)),
    "truncated_body": ({"MOOVITAMIX_API_FAULT_TRUNCATE_RATE": "0.15"}, {}, ("truncate",)),
    "duplicate_across_pages": ({"MOOVITAMIX_API_FAULT_DUPLICATE_RATE": "0.1"}, {}, ("duplicate",)),
    # One page at a time: the request sequence, hence where shifts land, is deterministic
    # (a read that meets a shift is read again; a second shifted read fails the stream).
    # Seed 4 at 0.06: /tracks and /users each meet one shift, then read again cleanly (seed 42
    # shifts /tracks in both reads: the tap then fails the stream, by design).
    "shifting_pages": (
        {"MOOVITAMIX_API_FAULT_SHIFT_RATE": "0.06", "MOOVITAMIX_API_SEED": "4"},
        {"TAP_MOOVITAMIX_MAX_CONCURRENT_REQUESTS": "1"},
        ("shift",),
    ),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault_kind_loads_exactly_the_truth(scenario: Scenario, kind: str) -> None:
    api_env, tap_env, must_show = FAULTS[kind]
    api = scenario.serve(**api_env)
    result = scenario.run(api, **tap_env)
    seen = api.fault_counts()
    for fault in must_show:
        assert seen[fault] >= 2, f"the stand-in injected {fault} {seen[fault]} times; the test proves nothing"
    succeeded(result)
    if kind == "shifting_pages":
        assert "again from page 1" in result.stdout + result.stderr, "no stream was read again after a shift"
    if kind == "duplicate_across_pages":
        assert "again from page 1" not in result.stdout + result.stderr, "a repeated record caused a re-read"

    # A shift pushes new records in front of a listing: they are part of what was served.
    inserted = {stream: 0 for stream in el.STREAMS}
    for fault in api.faults():
        if fault["kind"] == "shift":
            inserted[fault["path"].lstrip("/")] += 1
    expected = el.truth(api.settings, inserted=inserted)
    with scenario.connect() as connection:
        el.assert_raw_equals(connection, expected)
        assert connection.execute("select count(*) from raw.rejected_records").fetchone()[0] == 0
        bookmarks = el.assert_bookmarks_not_ahead(connection, expected)
    # A complete run advances every bookmark to the newest updated_at it loaded.
    for stream in el.STREAMS:
        newest = max(row["updated_at"] for row in expected[stream].values())
        assert bookmarks[stream] is not None and el._timestamp(bookmarks[stream]) == newest, (stream, bookmarks)


def rejected_rows(connection: psycopg.Connection) -> list[dict[str, object]]:
    if not el.table_exists(connection, "rejected_records"):
        return []
    columns = ("stream", "record_key", "payload", "payload_sha256", "reason", "run_id", "rejected_at")
    query = f"select {', '.join(columns)} from raw.rejected_records"
    return [dict(zip(columns, row, strict=True)) for row in connection.execute(query)]


# Corruptions the contract allows: a null history (`items` is nullable) and a track id
# unknown to /tracks (loaded, flagged by the warehouse). Every other one is a reject.
ACCEPTED_CORRUPTIONS = {"null_field:items", "unknown_track:items"}


def broken_but_accepted(connection: psycopg.Connection, expected: dict[str, dict[el.Key, el.Row]]) -> set[el.Key]:
    """Histories loaded as the source broke them (the contract allows it): null or unknown-track items.

    Any other difference from the truth fails here.
    """
    fields = next(iter(expected["listen_history"].values())).keys()
    loaded = el.warehouse(connection, "listen_history", fields) if el.table_exists(connection, "listen_history") else {}
    keys = set()
    for key, row in loaded.items():
        want = expected["listen_history"].get(key)
        if want is None or row == want:
            continue
        assert {name for name in row if row[name] != want[name]} == {"items"}, (key, row, want)
        assert row["items"] is None or set(row["items"]) - set(want["items"] or []), (key, row, want)
        keys.add(key)
    return keys


def test_bad_records_go_to_rejected_records(scenario: Scenario) -> None:
    api = scenario.serve(MOOVITAMIX_API_FAULT_BAD_RECORD_RATE="0.3")
    run_id = "el-test-bad-records"
    result = scenario.run(api, TAP_MOOVITAMIX_MAX_REJECTED_RATIO="0.5", TAP_MOOVITAMIX_RUN_ID=run_id)
    succeeded(result)
    bad = [fault for fault in api.faults() if fault["kind"] == "bad_record"]
    breaking = [fault for fault in bad if fault["detail"] not in ACCEPTED_CORRUPTIONS]
    assert len(breaking) >= 3, f"only {len(breaking)} schema-breaking records injected: {bad}"
    served = el.served(api.settings)
    expected = el.truth(api.settings)
    with scenario.connect() as connection:
        rejects = rejected_rows(connection)
        # One reject per injected record that breaks the schema, with what to find it by.
        assert len(rejects) == len(breaking), (rejects, breaking)
        for reject in rejects:
            assert reject["stream"] in el.STREAMS and reject["run_id"] == run_id
            assert reject["reason"] and reject["payload"] and reject["rejected_at"] is not None
        rejected = el.rejected_keys(connection, served)
        for stream in el.STREAMS:
            loaded = el.warehouse(connection, stream, next(iter(expected[stream].values())).keys())
            # Missing: exactly the rejected ones (el.warehouse fails on a key held twice).
            assert set(expected[stream]) - set(loaded) == rejected[stream], stream
        # Everything else exactly as served, but histories the contract lets through broken.
        rejected["listen_history"] |= broken_but_accepted(connection, expected)
        el.assert_raw_equals(connection, expected, excused=rejected)
        el.assert_bookmarks_not_ahead(connection, expected, excused=rejected)


def test_too_many_rejects_fail_the_run_and_leave_a_consistent_warehouse(scenario: Scenario) -> None:
    faulty = scenario.serve(MOOVITAMIX_API_FAULT_BAD_RECORD_RATE="0.6")
    result = scenario.run(faulty, TAP_MOOVITAMIX_RUN_ID="el-test-too-many")
    assert result.returncode != 0, "the run should fail: rejects above max_rejected_ratio (default 1%)"
    output = result.stdout + result.stderr
    failing = re.search(r"stream (\w+): \d+ of \d+ records broke the schema", output)
    assert failing, "no stream failed on max_rejected_ratio:\n" + output[-3000:]
    failed_stream = failing.group(1)
    served = el.served(faulty.settings)
    expected = el.truth(faulty.settings)
    with scenario.connect() as connection:
        # The rejects of the failing stream were sent before the failure and are kept.
        rejects = rejected_rows(connection)
        assert {r["stream"] for r in rejects} >= {failed_stream}
        assert all(r["run_id"] == "el-test-too-many" for r in rejects)
        rejected = el.rejected_keys(connection, served)
        rejected["listen_history"] |= broken_but_accepted(connection, expected)
        # Whatever was loaded is served data, never duplicated; no bookmark is ahead of it.
        bookmarks = el.assert_bookmarks_not_ahead(connection, expected, excused=rejected)
        assert bookmarks[failed_stream] is None, f"{failed_stream} failed but its bookmark moved"
        for stream in el.STREAMS:
            if el.table_exists(connection, stream):
                loaded = el.warehouse(connection, stream, next(iter(expected[stream].values())).keys())
                assert set(loaded) <= set(expected[stream]), stream
    faulty.stop()

    # The source is fixed: the next run completes the warehouse. Records rejected by a stream
    # that completed (within its ratio) are behind its bookmark: by design they stay in
    # raw.rejected_records only; the failed stream's rejects are read again and loaded.
    fixed = scenario.serve(at=faulty)
    succeeded(scenario.run(fixed))
    completed = {stream for stream, value in bookmarks.items() if value is not None}
    behind = {stream: rejected[stream] if stream in completed else set() for stream in el.STREAMS}
    with scenario.connect() as connection:
        el.assert_raw_equals(connection, expected, excused=behind)
        el.assert_bookmarks_not_ahead(connection, expected, excused=behind)


# --- days, identity, interruptions ----------------------------------------------------


def test_three_successive_days_then_a_rerun(scenario: Scenario) -> None:
    api = None
    for day in range(3):
        api = scenario.serve(at=api, MOOVITAMIX_API_DAY=str(day))
        result = scenario.run(api)
        succeeded(result)
        expected = el.truth(api.settings, day)
        with scenario.connect() as connection:
            el.assert_raw_equals(connection, expected)
            el.assert_bookmarks_not_ahead(connection, expected)
        if day > 0:
            # Incremental: only what changed since the day before was extracted.
            emitted = el.emitted_counts(result.stdout + result.stderr)
            for stream in el.STREAMS:
                assert 0 < emitted.get(stream, 0) < len(expected[stream]), (day, stream, emitted)
        if day < 2:
            api.stop()

    # The same day again: nothing extracted, nothing rewritten (same rows, same _sdc_batched_at).
    with scenario.connect() as connection:
        before = el.snapshot(connection)
    result = scenario.run(api)
    succeeded(result)
    emitted = el.emitted_counts(result.stdout + result.stderr)
    assert all(emitted.get(stream, 0) == 0 for stream in el.STREAMS), emitted
    with scenario.connect() as connection:
        assert el.snapshot(connection) == before


def test_identity_reset_keeps_both_identities(scenario: Scenario) -> None:
    # 400 records, seed 42: universes 0 and 1 share 5 track ids and 2 user ids (checked below).
    first = scenario.serve(MOOVITAMIX_API_RECORDS="400", MOOVITAMIX_API_UNIVERSE="0")
    succeeded(scenario.run(first))
    first.stop()
    # The same API restarted (same URL): its ids redrawn.
    second = scenario.serve(at=first, MOOVITAMIX_API_RECORDS="400", MOOVITAMIX_API_UNIVERSE="1")
    result = scenario.run(second)
    succeeded(result)

    before, after = el.truth(first.settings), el.truth(second.settings)
    for stream in el.STREAMS:
        shared = {key[0] for key in before[stream]} & {key[0] for key in after[stream]}
        assert shared, f"{stream}: no id shared by the two universes; the test proves nothing"
    with scenario.connect() as connection:
        # Both universes, whole: colliding ids hold two rows (one per created_at), neither overwritten.
        el.assert_raw_equals(connection, el.merge(before, after))
        conflicts = connection.execute(
            "select count(*) from (select id from raw.tracks group by id having count(*) > 1) c"
        ).fetchone()[0]
        assert conflicts == len({k[0] for k in before["tracks"]} & {k[0] for k in after["tracks"]})
    # The tap noticed the redrawn ids and read the new universe with the bookmark ignored.
    assert "ids redrawn" in result.stdout + result.stderr or "remembered from last run" in result.stdout + result.stderr


def test_another_source_is_read_in_full_whatever_the_bookmark(scenario: Scenario) -> None:
    """The same warehouse and state pointed at another API (another URL, a bigger source of
    the same seed): its records older than the first source's bookmark must load too."""
    first = scenario.serve(MOOVITAMIX_API_DAY="1")
    succeeded(scenario.run(first))
    first.stop()
    second = scenario.serve(MOOVITAMIX_API_RECORDS="600", MOOVITAMIX_API_DAY="1")
    result = scenario.run(second)
    succeeded(result)
    before, after = el.truth(first.settings, 1), el.truth(second.settings, 1)
    with scenario.connect() as connection:
        # Every record of the second source, as it serves it; the first's others stay.
        el.assert_raw_equals(connection, {stream: {**before[stream], **after[stream]} for stream in el.STREAMS})
        el.assert_bookmarks_not_ahead(connection, after)
    assert "the bookmark was written for source" in result.stdout + result.stderr


def test_a_lost_table_is_read_in_full_whatever_the_bookmark(scenario: Scenario) -> None:
    """raw.tracks dropped, raw.users emptied: the guard drops their bookmarks, the next run
    reads them in full; listen_history, whole, keeps its bookmark and reads nothing."""
    api = scenario.serve()
    succeeded(scenario.run(api))
    with scenario.connect() as connection:
        connection.execute("drop table raw.tracks")
        connection.execute("truncate raw.users")
    result = scenario.run(api, guard=True)
    succeeded(result)
    expected = el.truth(api.settings)
    with scenario.connect() as connection:
        el.assert_raw_equals(connection, expected)
        el.assert_bookmarks_not_ahead(connection, expected)
    output = result.stdout + result.stderr
    assert "event=bookmarks_dropped" in output and "streams=tracks,users" in output
    emitted = el.emitted_counts(output)
    assert (emitted["tracks"], emitted["users"], emitted.get("listen_history", 0)) == (
        len(expected["tracks"]), len(expected["users"]), 0)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def loaded_rows(scenario: Scenario) -> int:
    with scenario.connect() as connection:
        return sum(
            connection.execute(f"select count(*) from raw.{stream}").fetchone()[0]
            for stream in el.STREAMS
            if el.table_exists(connection, stream)
        )


def test_killed_run_then_api_gone_then_resume_is_exact(scenario: Scenario) -> None:
    # Slow pages, one at a time, and small target batches: records land while the run goes on.
    api = scenario.serve(MOOVITAMIX_API_FAULT_SLOW_RATE="0.2", MOOVITAMIX_API_SLOW_SECONDS="0.3")
    expected = el.truth(api.settings)
    slow_env = scenario.pipeline_env(
        api, TAP_MOOVITAMIX_MAX_CONCURRENT_REQUESTS="1", TARGET_POSTGRES_BATCH_SIZE_ROWS="40"
    )

    # 1. SIGKILL the whole run (meltano, tap, target) right after the first rows land.
    process = el.start_pipeline(slow_env, scenario.pipeline_log)
    try:
        wait_until(lambda: process.poll() is not None or loaded_rows(scenario) > 0, 120, "the first rows")
    finally:
        el.kill_group(process)
    assert process.returncode == -9, "the run ended before it could be killed; the test proves nothing"
    with scenario.connect() as connection:
        partial = loaded_rows(scenario)
        assert 0 < partial < sum(len(rows) for rows in expected.values())
        el.assert_bookmarks_not_ahead(connection, expected)

    # 2. The API dies in the middle of the next run: the run fails, nothing is half-recorded.
    start = api.data_requests()
    # --force: Meltano still counts the killed run as running (see el.run_pipeline).
    process = el.start_pipeline({**slow_env, "TAP_MOOVITAMIX_MAX_RETRIES": "2"}, scenario.pipeline_log, force=True)
    try:
        wait_until(lambda: process.poll() is not None or api.data_requests() >= start + 20, 120, "20 requests")
        api.kill()
        process.wait(timeout=120)
    finally:
        el.kill_group(process)
    assert process.returncode not in (0, -9), f"the run should fail once the API is gone ({process.returncode})"
    with scenario.connect() as connection:
        el.assert_bookmarks_not_ahead(connection, expected)

    # 3. API back, plain run: the warehouse is exactly the truth, nothing doubled.
    back = scenario.serve(at=api)
    succeeded(scenario.run(back, force=True))
    assert api.data_requests() > start, "the API was killed before the second run read anything"
    with scenario.connect() as connection:
        el.assert_raw_equals(connection, expected)
        el.assert_bookmarks_not_ahead(connection, expected)
