"""The Soda contracts against a real Postgres: good data passes, broken data fails.

The connection comes from WAREHOUSE_HOST / _PORT / _USER / _PASSWORD / _DB (same
defaults as verify_all.sh). The tests never touch the warehouse database itself: they
create their own database next to it, build the six tables there, and point
verify_all.sh at it through WAREHOUSE_DB. The soda CLI is $SODA_BIN, else `soda` on
PATH, else the `soda` beside this Python interpreter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

QUALITY_DIR = Path(__file__).resolve().parents[1]
VERIFY_ALL = QUALITY_DIR / "verify_all.sh"
CONTRACTS = [
    "raw/listen_history",
    "raw/tracks",
    "raw/users",
    "marts/dim_tracks",
    "marts/dim_users",
    "marts/fct_listens",
]
TEST_DB = os.environ.get("QUALITY_TEST_DB", "moovitamix_quality_test")

CONN = {
    "host": os.environ.get("WAREHOUSE_HOST", "127.0.0.1"),
    "port": int(os.environ.get("WAREHOUSE_PORT", "5433")),
    "user": os.environ.get("WAREHOUSE_USER", "moovitamix"),
    "password": os.environ.get("WAREHOUSE_PASSWORD", ""),
    "dbname": os.environ.get("WAREHOUSE_DB", "moovitamix"),
    "connect_timeout": 5,
}

# Tables shaped like the ones target-postgres (raw) and dbt (marts) create.
GOOD_DATA = """
DROP SCHEMA IF EXISTS raw CASCADE;
DROP SCHEMA IF EXISTS marts CASCADE;
CREATE SCHEMA raw;
CREATE SCHEMA marts;

CREATE TABLE raw.tracks (
    id bigint PRIMARY KEY, name varchar, artist varchar, songwriters varchar,
    duration varchar, genres varchar, album varchar,
    created_at timestamp, updated_at timestamp,
    _sdc_extracted_at timestamp, _sdc_received_at timestamp, _sdc_batched_at timestamp,
    _sdc_deleted_at timestamp, _sdc_sequence bigint, _sdc_table_version bigint,
    _sdc_sync_started_at bigint
);
ALTER TABLE raw.tracks DROP CONSTRAINT tracks_pkey;  -- so the tests can break the key
INSERT INTO raw.tracks (id, name, artist, songwriters, duration, genres, album,
                        created_at, updated_at, _sdc_batched_at) VALUES
    (1, 'so', 'Terry Ross', 'Kayla Mcguire', '33:22', 'ball', 'light', now(), now(), now()),
    (2, 'la', 'Ann Lee', 'Bo Diddley', '03:05', 'rock', 'dark', now(), now(), now()),
    (3, 'mi', 'Ann Lee', 'Bo Diddley', '59:59', 'jazz', NULL, now(), now(), now());

CREATE TABLE raw.users (
    id bigint, first_name varchar, last_name varchar, email varchar, gender varchar,
    favorite_genres varchar, created_at timestamp, updated_at timestamp,
    _sdc_extracted_at timestamp, _sdc_batched_at timestamp
);
INSERT INTO raw.users VALUES
    (10, 'Renee', 'Garrett', 'r@example.net', 'Genderfluid', 'Alternative', now(), now(), now(), now()),
    (11, 'Marc', 'Lane', 'm@example.net', 'Male', 'R&B', now(), now(), now(), now());

CREATE TABLE raw.listen_history (
    user_id bigint, items bigint[], created_at timestamp, updated_at timestamp,
    _sdc_extracted_at timestamp, _sdc_batched_at timestamp
);
INSERT INTO raw.listen_history VALUES
    (10, '{1,2,3}', now(), now(), now(), now()),
    (11, '{2}', now(), now(), now(), now());

CREATE TABLE marts.dim_tracks (
    track_id bigint, track_name text, artist text, songwriters text,
    duration_seconds integer, genre text, album text,
    created_at timestamptz, updated_at timestamptz
);
INSERT INTO marts.dim_tracks VALUES
    (1, 'so', 'Terry Ross', 'Kayla Mcguire', 2002, 'ball', 'light', now(), now()),
    (2, 'la', 'Ann Lee', 'Bo Diddley', 185, 'rock', 'dark', now(), now()),
    (3, 'mi', 'Ann Lee', 'Bo Diddley', 3599, 'jazz', NULL, now(), now());

CREATE TABLE marts.dim_users (
    user_id bigint, first_name text, last_name text, email text, gender text,
    favorite_genre text, created_at timestamptz, updated_at timestamptz
);
INSERT INTO marts.dim_users VALUES
    (10, 'Renee', 'Garrett', 'r@example.net', 'Genderfluid', 'Alternative', now(), now()),
    (11, 'Marc', 'Lane', 'm@example.net', 'Male', 'R&B', now(), now());

-- user_id and position each repeat; only the pair is the key.
CREATE TABLE marts.fct_listens (
    user_id bigint, track_id bigint, position integer,
    history_created_at timestamptz, history_updated_at timestamptz
);
INSERT INTO marts.fct_listens VALUES
    (10, 1, 1, now(), now()),
    (10, 2, 2, now(), now()),
    (10, 3, 3, now(), now()),
    (11, 2, 1, now(), now());
"""


def _soda_bin() -> str | None:
    if os.environ.get("SODA_BIN"):
        return os.environ["SODA_BIN"]  # taken as given: a wrong path makes the tests fail
    beside_python = Path(sys.executable).parent / "soda"
    return shutil.which("soda") or (str(beside_python) if beside_python.is_file() else None)


@pytest.fixture(scope="module")
def soda_bin() -> str:
    found = _soda_bin()
    if found is None:
        pytest.skip("soda CLI not found: set SODA_BIN or install soda-postgres==4.28.0")
    return found


@pytest.fixture(scope="module")
def test_db():
    """A database of our own next to WAREHOUSE_DB, dropped afterwards."""
    try:
        admin = psycopg.connect(**CONN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"warehouse Postgres unreachable at {CONN['host']}:{CONN['port']}: {exc}")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_DB))
    with admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DB)))
        yield TEST_DB
        admin.execute(drop)


@pytest.fixture
def db(test_db):
    """Fresh good data before every test; yields a connection to break it with."""
    with psycopg.connect(**{**CONN, "dbname": test_db}, autocommit=True) as conn:
        conn.execute(GOOD_DATA)
        yield conn


def verify(soda_bin: str, db_name: str, *contracts: str) -> tuple[int, str, dict[str, str]]:
    """Run verify_all.sh; return exit code, output and {contract: outcome} from its summary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    env.update(
        WAREHOUSE_HOST=CONN["host"],
        WAREHOUSE_PORT=str(CONN["port"]),
        WAREHOUSE_USER=CONN["user"],
        WAREHOUSE_DB=db_name,
        SODA_BIN=soda_bin,
    )
    if CONN["password"]:
        env["WAREHOUSE_PASSWORD"] = CONN["password"]  # else left unset: the script must cope
    paths = [str(QUALITY_DIR / "contracts" / f"{c}.yml") for c in contracts]
    proc = subprocess.run(
        ["sh", str(VERIFY_ALL), *paths], env=env, capture_output=True, text=True, timeout=600
    )
    output = proc.stdout + proc.stderr
    summary = output.split("=== Soda contract summary ===", 1)
    assert len(summary) == 2, f"no summary in output:\n{output}"
    outcomes = dict(re.findall(r"^(\S+)\s+(PASSED|PASSED_WITH_WARNINGS|FAILED|ERROR)\s+soda exit", summary[1], re.M))
    return proc.returncode, output, outcomes


def test_good_data_passes_every_contract(soda_bin, db):
    rc, output, outcomes = verify(soda_bin, db.info.dbname)
    assert outcomes == {c: "PASSED" for c in CONTRACTS}, output
    assert rc == 0, output
    # Each contract's own soda report is in the output, under its dataset name.
    for contract in CONTRACTS:
        assert f"Contract results for warehouse/{db.info.dbname}/{contract}" in output


BREAKAGES = {
    "duplicate track identity": ("raw/tracks", "INSERT INTO raw.tracks SELECT * FROM raw.tracks WHERE id = 2"),
    "duration not MM:SS": ("raw/tracks", "UPDATE raw.tracks SET duration = '3m05s' WHERE id = 2"),
    "null user id": ("raw/users", "INSERT INTO raw.users (id, email) VALUES (NULL, 'x@example.net')"),
    "duplicate listen_history user": (
        "raw/listen_history",
        "INSERT INTO raw.listen_history (user_id, items) VALUES (10, '{1}')",
    ),
    "raw column missing": ("raw/listen_history", "ALTER TABLE raw.listen_history DROP COLUMN items"),
    "null track_id in dim_tracks": (
        "marts/dim_tracks",
        "UPDATE marts.dim_tracks SET track_id = NULL WHERE track_id = 3",
    ),
    "column type changed": (
        "marts/dim_users",
        "ALTER TABLE marts.dim_users ALTER COLUMN created_at TYPE timestamp without time zone",
    ),
    "empty dim_users": ("marts/dim_users", "DELETE FROM marts.dim_users"),
    "duplicate (user_id, position)": (
        "marts/fct_listens",
        "INSERT INTO marts.fct_listens VALUES (11, 3, 1, now(), now())",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_data_fails_the_contract_it_breaks(soda_bin, db, breakage):
    contract, statement = BREAKAGES[breakage]
    db.execute(statement)
    rc, output, outcomes = verify(soda_bin, db.info.dbname)
    assert rc == 1, output
    expected = {c: "PASSED" for c in CONTRACTS}
    expected[contract] = "FAILED"
    assert outcomes == expected, output
    assert f"=== contract {contract}: FAILED (soda exit 1) ===" in output


def test_several_failures_are_all_named(soda_bin, db):
    db.execute("DELETE FROM raw.tracks")
    db.execute("INSERT INTO marts.fct_listens VALUES (10, 1, 1, now(), now())")
    rc, output, outcomes = verify(soda_bin, db.info.dbname)
    assert rc == 1, output
    assert outcomes["raw/tracks"] == "FAILED"
    assert outcomes["marts/fct_listens"] == "FAILED"
    assert "passed: 4, failed: 2, errors: 0" in output


def test_missing_table_is_an_error(soda_bin, db):
    db.execute("DROP TABLE marts.fct_listens")
    # A type a check cannot compute on: the schema check fails, the valid_min check errors.
    db.execute("ALTER TABLE marts.dim_tracks ALTER COLUMN duration_seconds TYPE text")
    db.execute("DELETE FROM raw.users")
    rc, output, outcomes = verify(soda_bin, db.info.dbname)
    assert rc == 3, output  # errors outrank failures
    assert outcomes["marts/fct_listens"] == "ERROR"
    assert outcomes["marts/dim_tracks"] == "ERROR"
    assert outcomes["raw/users"] == "FAILED"
    assert outcomes["raw/tracks"] == "PASSED"
    assert "passed: 3, failed: 1, errors: 2" in output


def test_selected_contracts_only(soda_bin, db):
    db.execute("DELETE FROM marts.dim_users")  # not selected: must not matter
    rc, output, outcomes = verify(soda_bin, db.info.dbname, "raw/users", "marts/fct_listens")
    assert rc == 0, output
    assert outcomes == {"raw/users": "PASSED", "marts/fct_listens": "PASSED"}


def test_unreachable_warehouse_is_an_error(soda_bin, db):
    env_port = CONN["port"]
    CONN["port"] = 1  # nothing listens on port 1
    try:
        rc, output, outcomes = verify(soda_bin, db.info.dbname, "raw/tracks")
    finally:
        CONN["port"] = env_port
    assert rc == 3, output
    assert outcomes == {"raw/tracks": "ERROR"}
