"""Helpers of the extract-load integration tests (tests/test_extract_load.py).

They drive the real pieces: the stand-in API as a `python -m api.stand_in` subprocess, the real
`meltano run tap-moovitamix target-postgres`, a real Postgres. What the warehouse must
hold is computed from `api.stand_in.world.records`, the simulator's own truth, never from what
the pipeline itself read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from api.stand_in.settings import Settings, load_settings
from api.stand_in.world import World
from local.stand_in import start_stand_in
from orchestrate.project import PROJECT_ROOT
from orchestrate.startup import stop_process

MELTANO = str(PROJECT_ROOT / ".venv" / "bin" / "meltano")
STREAMS = ("tracks", "users", "listen_history")
# The source's identity of a record; the warehouse key adds created_at (identity conflicts).
ID_FIELD = {"tracks": "id", "users": "id", "listen_history": "user_id"}
TIMESTAMPS = ("created_at", "updated_at")
# The state id Meltano gives `meltano run tap-moovitamix target-postgres` in the dev env.
STATE_ID = "dev:tap-moovitamix-to-target-postgres"
FAULT_LINE = re.compile(
    r"fault kind=(?P<kind>\S+) path=(?P<path>\S+) query=(?P<query>\S+) attempt=\d+(?: detail=(?P<detail>\S+))?"
)

Key = tuple[Any, dt.datetime]
Row = dict[str, Any]


# --- the stand-in ---------------------------------------------------------------------


@dataclass
class StandIn:
    """One `python -m api.stand_in` process; its settings are also what the truth is computed from."""

    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> Settings:
        return load_settings({**self.env, "MOOVITAMIX_API_PORT": str(self.port)})

    def start(self, timeout: float = 60.0) -> StandIn:
        # Its own session: a scenario can kill the stand-in and whatever it started at once.
        self.process = start_stand_in(self.env, self.port, self.log_path, timeout, own_session=True)
        return self

    def stop(self) -> None:
        """Stop the process this object started (by its pid, never by name)."""
        if self.process is not None:
            stop_process(self.process)

    def kill(self) -> None:
        """The API gone at once, mid-response if need be (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def faults(self) -> list[dict[str, str]]:
        """Every fault the server says it injected (one stderr line each)."""
        return [m.groupdict() for m in FAULT_LINE.finditer(self.log_path.read_text(errors="replace"))]

    def fault_counts(self) -> Counter[str]:
        return Counter(fault["kind"] for fault in self.faults())

    def data_requests(self) -> int:
        """Data requests answered so far (uvicorn's access log)."""
        text = self.log_path.read_text(errors="replace")
        return len(re.findall(r'"GET /(?:tracks|users|listen_history)\?', text))


# --- the pipeline -----------------------------------------------------------------------


def private_sys_dir(workdir: Path) -> Path:
    """A `.meltano` of our own that shares the installed plugins but not `run/` or `logs/`.

    Meltano writes each run's config and discovered catalog under `.meltano/run/<plugin>/`
    at fixed paths: two runs of the project at once (a test and `make run`, or another
    engineer's test) overwrite each other's catalog there; a tap then reads a truncated
    file. MELTANO_SYS_DIR_ROOT points Meltano at this directory instead.
    """
    shared = PROJECT_ROOT / ".meltano"
    private = workdir / "meltano-sys"
    private.mkdir(exist_ok=True)
    for entry in shared.iterdir():
        target = private / entry.name
        if entry.name not in {"run", "logs", "meltano.db"} and not target.exists():
            target.symlink_to(entry)
    return private


def pipeline_env(base: Mapping[str, str], api_url: str, **settings: str) -> dict[str, str]:
    """The job env plus the tap's settings; no TAP_/TARGET_ variable leaks from the caller."""
    env = {k: v for k, v in base.items() if not k.startswith(("TAP_MOOVITAMIX_", "TARGET_POSTGRES_"))}
    env.update(
        TAP_MOOVITAMIX_API_URL=api_url,
        # Fast retries: the waits are not what these tests are about.
        TAP_MOOVITAMIX_BACKOFF_BASE_SECONDS="0.05",
        TAP_MOOVITAMIX_BACKOFF_MAX_SECONDS="2",
    )
    env.update(settings)
    return env


def meltano_command(*args: str) -> list[str]:
    return [MELTANO, "--log-level=info", *args]


def run_pipeline(
    env: Mapping[str, str], log_path: Path, *, force: bool = False, guard: bool = False, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`meltano run tap-moovitamix target-postgres`, its whole output kept in log_path;
    `guard`: after `bookmark-guard`, as the daily job runs it.

    `force`: after a SIGKILLed run, Meltano's system DB still says that run is going on
    and refuses another one for 5 minutes (until it calls it stale); `--force` is what
    an operator re-running at once would use. The next day's run needs nothing.
    """
    extra = ("--force",) if force else ()
    first = ("bookmark-guard",) if guard else ()
    result = subprocess.run(
        meltano_command("run", *extra, *first, "tap-moovitamix", "target-postgres"),
        cwd=PROJECT_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    with log_path.open("a") as log:
        log.write(result.stdout + result.stderr)
    return result


def start_pipeline(env: Mapping[str, str], log_path: Path, *, force: bool = False) -> subprocess.Popen[bytes]:
    """The same run in the background, in its own process group (so it can be killed whole)."""
    extra = ("--force",) if force else ()
    log = log_path.open("ab")
    process = subprocess.Popen(
        meltano_command("run", *extra, "tap-moovitamix", "target-postgres"),
        cwd=PROJECT_ROOT,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL meltano, the tap and the target at once: no handler, no flush, no cleanup."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def bookmarks(connection: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """The state Meltano will hand the next run, read from its system DB: the warehouse.

    Meltano merges `partial_state` over `completed_state` when a run starts, so both count.
    """
    if connection.execute("select to_regclass('meltano.state')").fetchone()[0] is None:
        return {}
    row = connection.execute(
        "select completed_state, partial_state from meltano.state where state_id = %s", (STATE_ID,)
    ).fetchone()
    if row is None:
        return {}
    merged: dict[str, dict[str, Any]] = {}
    for text in row:
        state = json.loads(text) if text else {}
        for stream, value in state.get("singer_state", {}).get("bookmarks", {}).items():
            merged.setdefault(stream, {}).update(value)
    return merged


# --- truth and warehouse -----------------------------------------------------------------


def _timestamp(value: str) -> dt.datetime:
    # The API sends naive UTC timestamps; raw stores them as `timestamp without time zone`.
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def normalise(record: Mapping[str, Any]) -> Row:
    return {name: _timestamp(value) if name in TIMESTAMPS else value for name, value in record.items()}


def keyed(stream: str, records: Iterable[Mapping[str, Any]]) -> dict[Key, Row]:
    """Records by warehouse key (id, created_at); a key seen twice is a test-setup error."""
    result: dict[Key, Row] = {}
    for record in records:
        row = normalise(record)
        key = (row[ID_FIELD[stream]], row["created_at"])
        assert key not in result, f"{stream}: the truth itself holds {key} twice"
        result[key] = row
    return result


def served(
    settings: Settings, day: int | None = None, inserted: Mapping[str, int] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """`api.stand_in.world.records` as served (JSON values), plus the records a "shift" pushed in front."""
    world = World(settings, day)
    result = {}
    for stream in STREAMS:
        extra = (inserted or {}).get(stream, 0)
        result[stream] = world.page(stream, 0, world.size(stream) + extra, inserted=extra)
    return result


def truth(
    settings: Settings, day: int | None = None, inserted: Mapping[str, int] | None = None
) -> dict[str, dict[Key, Row]]:
    """What raw.* must hold after loading `settings` up to `day`, by warehouse key."""
    return {stream: keyed(stream, records) for stream, records in served(settings, day, inserted).items()}


def rejected_keys(connection: psycopg.Connection, records: Mapping[str, list[dict[str, Any]]]) -> dict[str, set[Key]]:
    """The served record each row of raw.rejected_records stands for, by stream.

    The stand-in breaks one field of a record (wrong type, missing, null), possibly its id
    or created_at, so a reject is matched to the served record it differs from in at most
    one field. A reject that matches none (or several) is an error of the test's premise.
    """
    result: dict[str, set[Key]] = {stream: set() for stream in STREAMS}
    if not table_exists(connection, "rejected_records"):
        return result
    for stream, payload in connection.execute("select stream, payload from raw.rejected_records"):
        bad = json.loads(payload)
        matches = [
            record
            for record in records[stream]
            if sum(1 for name, value in record.items() if bad.get(name, _MISSING) != value) <= 1
        ]
        assert len(matches) == 1, f"reject of {stream} matches {len(matches)} served records: {payload}"
        row = normalise(matches[0])
        result[stream].add((row[ID_FIELD[stream]], row["created_at"]))
    return result


_MISSING = object()


def merge(*worlds: Mapping[str, Mapping[Key, Row]]) -> dict[str, dict[Key, Row]]:
    """Several truths in one warehouse (identity reset: both universes' records)."""
    result: dict[str, dict[Key, Row]] = {stream: {} for stream in STREAMS}
    for world in worlds:
        for stream in STREAMS:
            for key, row in world[stream].items():
                assert key not in result[stream], f"{stream}: {key} in two universes"
                result[stream][key] = row
    return result


def warehouse(connection: psycopg.Connection, stream: str, fields: Iterable[str]) -> dict[Key, Row]:
    """raw.<stream> by key; fails on a key held twice (a duplicate is never tolerated)."""
    names = list(fields)
    columns = ", ".join(f'"{name}"' for name in names)
    rows = connection.execute(f"select {columns} from raw.{stream}").fetchall()
    result: dict[Key, Row] = {}
    for values in rows:
        row = dict(zip(names, values, strict=True))
        key = (row[ID_FIELD[stream]], row["created_at"])
        assert key not in result, f"raw.{stream} holds {key} twice"
        result[key] = row
    return result


def table_exists(connection: psycopg.Connection, stream: str) -> bool:
    return connection.execute("select to_regclass(%s)", (f"raw.{stream}",)).fetchone()[0] is not None


def differences(expected: Mapping[Key, Row], actual: Mapping[Key, Row], limit: int = 3) -> str:
    """A short account of how two keyed tables differ ('' when they are equal)."""
    missing = [key for key in expected if key not in actual]
    extra = [key for key in actual if key not in expected]
    changed = [key for key in expected if key in actual and expected[key] != actual[key]]
    if not (missing or extra or changed):
        return ""
    parts = [f"{len(expected)} expected, {len(actual)} loaded"]
    if missing:
        parts.append(f"{len(missing)} missing, e.g. {missing[:limit]}")
    if extra:
        parts.append(f"{len(extra)} not in the truth, e.g. {extra[:limit]}")
    for key in changed[:limit]:
        want, got = expected[key], actual[key]
        diff = {name: (want[name], got.get(name)) for name in want if want[name] != got.get(name)}
        parts.append(f"{len(changed)} differ, e.g. {key}: {diff}")
    return "; ".join(parts)


def assert_raw_equals(
    connection: psycopg.Connection,
    expected: Mapping[str, Mapping[Key, Row]],
    excused: Mapping[str, set[Key]] | None = None,
) -> None:
    """raw.tracks / raw.users / raw.listen_history hold exactly `expected`, field for field.

    `excused` keys (a record rejected or loaded as the source broke it) may be missing or
    differ; they still may not be duplicated or come from outside the truth.
    """
    problems = []
    for stream in STREAMS:
        fields = next(iter(expected[stream].values())).keys()
        skip = (excused or {}).get(stream, set())
        loaded = warehouse(connection, stream, fields)
        outside = [key for key in loaded if key not in expected[stream]]
        assert not outside, f"raw.{stream}: {len(outside)} rows not in the truth, e.g. {outside[:3]}"
        want = {key: row for key, row in expected[stream].items() if key not in skip}
        diff = differences(want, {key: row for key, row in loaded.items() if key not in skip})
        if diff:
            problems.append(f"raw.{stream}: {diff}")
    assert not problems, "\n".join(problems)


def assert_bookmarks_not_ahead(
    connection: psycopg.Connection,
    expected: Mapping[str, Mapping[Key, Row]],
    excused: Mapping[str, set[Key]] | None = None,
) -> dict[str, str | None]:
    """Every record the saved bookmark says was loaded (updated_at <= bookmark) is in raw, as served.

    This is the property that makes a resumed run exact: the next run skips what is not
    newer than the bookmark, so anything at or below it must already be in the warehouse.
    `excused`: records rejected (raw.rejected_records) by a stream that completed.
    """
    state = bookmarks(connection)
    found: dict[str, str | None] = {}
    for stream in STREAMS:
        value = state.get(stream, {}).get("replication_key_value")
        found[stream] = value
        if value is None:
            continue
        bookmark = _timestamp(value)
        skip = (excused or {}).get(stream, set())
        covered = {
            key: row for key, row in expected[stream].items() if row["updated_at"] <= bookmark and key not in skip
        }
        fields = next(iter(expected[stream].values())).keys()
        loaded = warehouse(connection, stream, fields) if table_exists(connection, stream) else {}
        lost = [key for key, row in covered.items() if loaded.get(key) != row]
        assert not lost, (
            f"{stream}: bookmark {value} is ahead of the warehouse: {len(lost)} records at or below it "
            f"are not loaded as served, e.g. {lost[:3]}"
        )
    return found


def snapshot(connection: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw row with its load metadata: a run that loads nothing leaves it unchanged."""
    result = {}
    for stream in (*STREAMS, "rejected_records"):
        if table_exists(connection, stream):
            result[stream] = sorted(
                connection.execute(f"select t::text, _sdc_batched_at::text from raw.{stream} t").fetchall()
            )
    return result


def emitted_counts(log_text: str) -> dict[str, int]:
    """Records the tap emitted per stream, from its `record_count` metrics."""
    counts: dict[str, int] = {}
    for match in re.finditer(r'tap-moovitamix\s+METRIC: (\{.*"metric":\s*"record_count".*\})', log_text):
        metric = json.loads(match.group(1))
        stream = metric["tags"]["stream"]
        counts[stream] = counts.get(stream, 0) + int(metric["value"])
    return counts
