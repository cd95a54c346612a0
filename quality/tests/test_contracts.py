"""The Soda contracts against a real Postgres: good data passes, each corruption trips
the check meant for it, as a gate (exit 1, FAILED) or as a warning (exit 0, reported).

The connection comes from WAREHOUSE_HOST / _PORT / _USER / _PASSWORD / _DB (same
defaults as verify_all.sh). The tests never touch the warehouse database itself: they
create their own database next to it, build the tables of good_data.sql there, and point
verify_all.sh at it through WAREHOUSE_DB. The soda CLI is $SODA_BIN, else `soda` on
PATH, else the `soda` beside this Python interpreter.

A verification costs a few seconds of start-up, so only the good-data test verifies every
contract; a corruption test verifies the contract it corrupts (the others cannot see it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

from orchestrate.roles import prepare_warehouse  # noqa: E402

QUALITY_DIR = Path(__file__).resolve().parents[1]
VERIFY_ALL = QUALITY_DIR / "verify_all.sh"
GOOD_DATA = (Path(__file__).with_name("good_data.sql")).read_text()
CONTRACTS = sorted(
    str(p.relative_to(QUALITY_DIR / "contracts"))[: -len(".yml")]
    for p in (QUALITY_DIR / "contracts").glob("*/*.yml")
)
VOLUME_DATASETS = sorted(
    c.replace("/", ".")
    for c in CONTRACTS
    if "quality.volume_change" in (QUALITY_DIR / "contracts" / f"{c}.yml").read_text()
)
TEST_DB = os.environ.get("QUALITY_TEST_DB", "moovitamix_quality_test")
# The run the supervisor would be running: in its ledger, its id exported to the steps.
RUN = "run-today"

CONN = {
    "host": os.environ.get("WAREHOUSE_HOST", "127.0.0.1"),
    "port": int(os.environ.get("WAREHOUSE_PORT", "5433")),
    "user": os.environ.get("WAREHOUSE_USER", "moovitamix"),
    "password": os.environ.get("WAREHOUSE_PASSWORD", ""),
    "dbname": os.environ.get("WAREHOUSE_DB", "moovitamix"),
    "connect_timeout": 5,
}


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
    """Fresh good data (and no volume history) before every test, and the supervisor's
    ledger with the run under way, started an hour ago; yields a connection."""
    with psycopg.connect(**{**CONN, "dbname": test_db}, autocommit=True) as conn:
        conn.execute(GOOD_DATA)
        prepare_warehouse(conn)  # the ledger's and the volume history's tables
        add_run(conn, RUN, "now() - interval '1 hour'")
        yield conn


def add_run(conn, run_id: str, started_at: str) -> None:
    """A run of the ledger; `started_at` is SQL: the runner's clock as the supervisor read it."""
    conn.execute(
        f"INSERT INTO ops.pipeline_runs (run_id, job, environment, host, started_at, status)"
        f" VALUES (%s, 'daily', 'dev', 'runner', {started_at}, 'running')",
        (run_id,),
    )


class Run:
    """One verify_all.sh run: exit code, console output, and what it wrote to its run
    folder: {contract: outcome}, the checks that did not hold, the totals, the JUnit XML."""

    def __init__(self, proc: subprocess.CompletedProcess, run_dir: Path):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        results_file = run_dir / "soda-results.json"
        assert results_file.is_file(), f"no results written:\n{self.output}"
        self.results = json.loads(results_file.read_text())
        self.junit = ET.parse(run_dir / "soda-junit.xml").getroot()
        contracts = self.results["contracts"]
        self.outcomes = {c["name"]: c["outcome"] for c in contracts}
        kinds = {"FAILED": "gate failed", "WARN": "warning"}
        # {contract: [("gate failed" | "warning", check name), ...]}
        self.checks = {
            c["name"]: [(kinds[k["outcome"]], k["name"]) for k in c["checks"] if k["outcome"] in kinds]
            for c in contracts
        }
        self.totals = self.results["totals"]
        named = [pair for pairs in self.checks.values() for pair in pairs]
        self.gates_failed = [check for kind, check in named if kind == "gate failed"]
        self.warnings = [check for kind, check in named if kind == "warning"]


def verify(soda_bin: str, db_name: str, *contracts: str, **settings: str | None) -> Run:
    """Run verify_all.sh on some contracts (all without any) in the run RUN, as the
    supervisor does, with settings overridden (None: unset)."""
    with tempfile.TemporaryDirectory() as run_dir:
        proc = run_verify_all(soda_bin, db_name, contracts, {"RUN_DIR": run_dir, "MOOVITAMIX_RUN_ID": RUN, **settings})
        return Run(proc, Path(run_dir))


def run_verify_all(soda_bin: str, db_name: str, contracts: tuple[str, ...],
                   settings: dict[str, str | None]) -> subprocess.CompletedProcess:
    owned = ("WAREHOUSE_", "QUALITY_", "OPS_", "MOOVITAMIX_RUN_ID")  # only what the test sets
    env = {k: v for k, v in os.environ.items() if not k.startswith(owned)}
    env.update(
        WAREHOUSE_HOST=CONN["host"],
        WAREHOUSE_PORT=str(CONN["port"]),
        WAREHOUSE_USER=CONN["user"],
        WAREHOUSE_DB=db_name,
        SODA_BIN=soda_bin,
    )
    env.update({name: value for name, value in settings.items() if value is not None})
    if CONN["password"]:
        env["WAREHOUSE_PASSWORD"] = CONN["password"]  # else left unset: the script must cope
    paths = [c if c.startswith("/") else str(QUALITY_DIR / "contracts" / f"{c}.yml") for c in contracts]
    return subprocess.run(["sh", str(VERIFY_ALL), *paths], env=env, capture_output=True, text=True, timeout=600)


def test_good_data_passes_every_contract(soda_bin, db):
    run = verify(soda_bin, db.info.dbname)
    assert run.outcomes == {c: "PASSED" for c in CONTRACTS}, run.output
    assert run.rc == 0, run.output
    assert run.totals == {"passed": len(CONTRACTS), "failed": 0, "errors": 0, "warnings": 0}
    assert (run.results["outcome"], run.results["exit_code"]) == ("PASSED", 0)
    # Every check has its measured value; the JUnit file has a suite per contract, no failure.
    checks = [check for c in run.results["contracts"] for check in c["checks"]]
    assert checks and all(check["measured"] and check["threshold"] for check in checks)
    suites = run.junit.findall("testsuite")
    assert sorted(s.get("name") for s in suites) == CONTRACTS
    assert not run.junit.findall(".//failure") and not run.junit.findall(".//error")
    # Each contract's own soda report is in the output, under its dataset name.
    for contract in CONTRACTS:
        assert f"Contract results for warehouse/{db.info.dbname}/{contract}" in run.output
    # The first run sets the volume baseline of every table with volume checks.
    recorded = db.execute("select dataset from quality.volume_history where accepted order by 1").fetchall()
    assert [r[0] for r in recorded] == VOLUME_DATASETS


UNKNOWN_TRACK_LISTEN = "INSERT INTO marts.fct_listens VALUES (11, 999, 2, now(), now(), now(), false)"

# name: (contract, statement, the check that must fail)
GATES = {
    "duplicate track identity": (
        "raw/tracks", "INSERT INTO raw.tracks SELECT * FROM raw.tracks WHERE id = 2", "(id, created_at) is unique"),
    "duration not MM:SS": ("raw/tracks", "UPDATE raw.tracks SET duration = '3m05s' WHERE id = 2", "duration is MM:SS"),
    "bad email in raw": (
        "raw/users", "UPDATE raw.users SET email = 'marcus03.example.net' WHERE id = 10",
        "email looks like name@domain.tld"),
    "bad email in pii": (
        "pii/users", "UPDATE pii.users SET email = 'marc@lane' WHERE user_id = 11", "email looks like name@domain.tld"),
    "null user id": ("raw/users", "UPDATE raw.users SET id = NULL WHERE id = 11", "No missing values"),
    "raw column missing": ("raw/listen_history", "ALTER TABLE raw.listen_history DROP COLUMN updated_at",
                           "Schema matches expected structure"),
    "duplicate track_id in dim_tracks": (
        "marts/dim_tracks", "UPDATE marts.dim_tracks SET track_id = 1 WHERE track_id = 4", "No duplicate values"),
    "column type changed": (
        "marts/dim_users", "ALTER TABLE marts.dim_users ALTER COLUMN created_at TYPE timestamp without time zone",
        "Schema matches expected structure"),
    "email back in dim_users": (
        "marts/dim_users", "ALTER TABLE marts.dim_users ADD COLUMN email text", "Schema matches expected structure"),
    "empty dim_users": ("marts/dim_users", "DELETE FROM marts.dim_users", "Row count meets expected threshold"),
    "duplicate (user_id, position)": (
        "marts/fct_listens", "INSERT INTO marts.fct_listens VALUES (11, 3, 1, now(), now(), now(), true)",
        "(user_id, position) is unique"),
    "track flagged known but not in dim_tracks": (
        "marts/fct_listens", "INSERT INTO marts.fct_listens VALUES (11, 999, 2, now(), now(), now(), true)",
        "known track_id is in dim_tracks"),
    "listen of a user not in dim_users": (
        "marts/fct_listens", "INSERT INTO marts.fct_listens VALUES (12, 1, 1, now(), now(), now(), true)",
        "user_id is in dim_users"),
    "duplicate (user_id, track_id) interaction": (
        "marts/user_track_interactions", "INSERT INTO marts.user_track_interactions VALUES (11, 2, 3, now(), now())",
        "(user_id, track_id) is unique"),
}


def rounds(corruptions: dict[str, tuple[str, str, str]]) -> list[list[str]]:
    """Corruptions grouped so that no two in a group touch the same contract: a group is
    verified in one run (one start-up of soda), each contract still broken one way."""
    groups: list[list[str]] = []
    for name, (contract, _, _) in corruptions.items():
        group = next((g for g in groups if all(corruptions[n][0] != contract for n in g)), None)
        if group is None:
            groups.append(group := [])
        group.append(name)
    return groups


@pytest.mark.parametrize("group", rounds(GATES), ids=lambda g: " + ".join(g))
def test_a_gate_fails_the_run(soda_bin, db, group):
    for corruption in group:
        db.execute(GATES[corruption][1])
    run = verify(soda_bin, db.info.dbname, *(GATES[c][0] for c in group))
    assert run.rc == 1, run.output
    for corruption in group:
        contract, _, check = GATES[corruption]
        assert run.outcomes[contract] == "FAILED", (corruption, run.output)
        assert ("gate failed", check) in run.checks[contract], (corruption, run.output)
        assert f"=== contract {contract}: FAILED (soda exit 1) ===" in run.output
    assert run.totals == {"passed": 0, "failed": len(group), "errors": 0, "warnings": 0}
    failures = {case.get("name") for case in run.junit.iter("testcase") if case.find("failure") is not None}
    assert failures == {GATES[c][2] for c in group}, run.output


# name: (contract, statement, the check that must warn)
WARNINGS = {
    "listen of an unknown track (kept, flagged)": (
        "marts/fct_listens", UNKNOWN_TRACK_LISTEN, "at most 0 listens of unknown tracks"),
    "identity conflict": (
        "ops/identity_conflicts",
        "INSERT INTO ops.identity_conflicts VALUES"
        " ('tracks', 2, now() - interval '9 days', now(), now() - interval '3 days', false),"
        " ('tracks', 2, now(), now(), now(), true)",
        "at most 0 ids redrawn in this run"),
    "rejected record": (
        "raw/rejected_records",
        "INSERT INTO raw.rejected_records (stream, record_key, payload, reason, run_id, rejected_at)"
        f" VALUES ('users', '12', '{{\"id\": 12}}', 'email: None is not of type string', '{RUN}',"
        " now() AT TIME ZONE 'UTC')",
        "at most 0 records rejected in this run"),
    "gender outside the API's list": (
        "raw/users", "UPDATE raw.users SET gender = 'Robot' WHERE id = 10", "gender is one of the API's values"),
    "shared email (same user_key)": (
        "marts/dim_users", "UPDATE marts.dim_users SET user_key = (SELECT min(user_key) FROM marts.dim_users)",
        "user_key is unique (else two users share an email)"),
}


@pytest.mark.parametrize("group", rounds(WARNINGS), ids=lambda g: " + ".join(g))
def test_a_warning_is_reported_and_passes(soda_bin, db, group):
    for corruption in group:
        db.execute(WARNINGS[corruption][1])
    run = verify(soda_bin, db.info.dbname, *(WARNINGS[c][0] for c in group))
    assert run.rc == 0, run.output
    for corruption in group:
        contract, _, check = WARNINGS[corruption]
        assert run.outcomes[contract] == "PASSED_WITH_WARNINGS", (corruption, run.output)
        assert run.checks[contract] == [("warning", check)], (corruption, run.output)
    assert run.totals == {"passed": len(group), "failed": 0, "errors": 0, "warnings": len(group)}
    assert run.results["outcome"] == "PASSED_WITH_WARNINGS"


def test_thresholds_come_from_the_environment(soda_bin, db):
    db.execute(UNKNOWN_TRACK_LISTEN)
    db.execute("UPDATE pii.users SET email = 'nobody' WHERE user_id = 11")
    run = verify(soda_bin, db.info.dbname, "marts/fct_listens", "pii/users",
                 QUALITY_MAX_UNKNOWN_TRACK_LISTENS="1", QUALITY_MAX_INVALID_EMAILS="1")
    assert run.rc == 0, run.output
    assert run.outcomes == {"marts/fct_listens": "PASSED", "pii/users": "PASSED"}, run.output
    assert "at most 1 listens of unknown tracks" in run.output


def new_rows(run: Run) -> dict[str, int]:
    """{contract: rows its "new in this run" check counted} for the two contracts that have one."""
    return {
        contract["name"]: check["measured"]["failed_rows_count"]
        for contract in run.results["contracts"]
        for check in contract["checks"]
        if check["name"].endswith(" in this run")
    }


def add_new_and_old(db, runner: str) -> None:
    """What yesterday's run and today's (RUN) each rejected and redrew, stamped by the runner's
    clock (`runner`, SQL) a minute after each run started."""
    add_run(db, "run-yesterday", f"{runner} - interval '1 day'")
    db.execute(f"UPDATE ops.pipeline_runs SET started_at = {runner} WHERE run_id = %s", (RUN,))
    for run_id, started in (("run-yesterday", f"{runner} - interval '1 day'"), (RUN, runner)):
        loaded = f"{started} + interval '1 minute'"
        db.execute(
            "INSERT INTO raw.rejected_records (stream, record_key, payload, reason, run_id, rejected_at)"
            f" VALUES ('users', %s, '{{}}', 'bad', %s, ({loaded}) AT TIME ZONE 'UTC')",
            (run_id, run_id),
        )
    db.execute(
        "INSERT INTO ops.identity_conflicts VALUES"
        # Track 2 redrawn by yesterday's run, user 10 by today's.
        f" ('tracks', 2, now() - interval '9 days', now(), {runner} - interval '3 days', false),"
        f" ('tracks', 2, now(), now(), {runner} - interval '1 day' + interval '1 minute', true),"
        f" ('users', 10, now() - interval '9 days', now(), {runner} - interval '3 days', false),"
        f" ('users', 10, now(), now(), {runner} + interval '1 minute', true)"
    )


NEW_IN_THIS_RUN = ("raw/rejected_records", "ops/identity_conflicts")


@pytest.mark.parametrize("skew", ["- interval '1 day'", "+ interval '1 day'"],
                         ids=["runner a day behind", "runner a day ahead"])
def test_new_means_of_this_run_whatever_the_runners_clock(soda_bin, db, skew):
    """The runner's clock, a day off the warehouse's, stamps the run's start and its loads:
    this run's rejected record and redrawn id are counted once, yesterday's not again."""
    add_new_and_old(db, f"now() {skew}")
    run = verify(soda_bin, db.info.dbname, *NEW_IN_THIS_RUN)
    assert run.rc == 0, run.output
    assert new_rows(run) == {"raw/rejected_records": 1, "ops/identity_conflicts": 1}, run.output
    assert f"new rejected records and identity conflicts: those of run {RUN}" in run.output


def test_outside_a_run_new_means_of_the_ledgers_latest_run_else_nothing(soda_bin, db):
    """`make quality` exports no run id: it repeats the verification of the last run; on a
    warehouse without a ledger nothing is new."""
    add_new_and_old(db, "now()")
    run = verify(soda_bin, db.info.dbname, *NEW_IN_THIS_RUN, MOOVITAMIX_RUN_ID=None)
    assert new_rows(run) == {"raw/rejected_records": 1, "ops/identity_conflicts": 1}, run.output
    db.execute("DROP TABLE ops.pipeline_runs CASCADE")
    run = verify(soda_bin, db.info.dbname, *NEW_IN_THIS_RUN, MOOVITAMIX_RUN_ID=None)
    assert run.outcomes == {"raw/rejected_records": "PASSED", "ops/identity_conflicts": "PASSED"}, run.output
    assert new_rows(run) == {"raw/rejected_records": 0, "ops/identity_conflicts": 0}, run.output
    assert "new rejected records and identity conflicts: none" in run.output


@pytest.mark.parametrize(("setting", "value", "says"), [
    ("QUALITY_MAX_INVALID_EMAILS", "abc", "QUALITY_MAX_INVALID_EMAILS='abc' is not allowed: it must be a whole number"),
    ("QUALITY_VOLUME_MAX_DROP_PCT", "100", "QUALITY_VOLUME_MAX_DROP_PCT is no longer read: set QUALITY_VOLUME_GATE"),
])
def test_a_wrong_or_retired_setting_stops_before_any_contract(soda_bin, db, setting, value, says):
    proc = run_verify_all(soda_bin, db.info.dbname, ("raw/tracks",), {setting: value})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"error: {says}" in proc.stderr
    assert "=== contract" not in proc.stdout


def test_duplicate_keys_names_each_key_held_twice_and_its_copies(db):
    """What the key checks of the big marts count: one row per duplicated key, none
    for a key held once, whatever the order the rows came in."""
    keys = "select * from quality.duplicate_keys('marts.fct_listens', array['user_id', 'position'])"
    assert db.execute(keys).fetchall() == []
    db.execute(
        "INSERT INTO marts.fct_listens VALUES (10, 2, 2, now(), now(), now(), true),"
        " (11, 3, 1, now(), now(), now(), true), (10, 2, 2, now(), now(), now(), true)"
    )
    assert sorted(db.execute(keys).fetchall()) == [("10, 2", 3), ("11, 1", 2)]


def baseline(db, dataset: str) -> int | None:
    return db.execute("select baseline_rows from quality.volume_change(%s)", (dataset,)).fetchone()[0]


def test_volume_against_the_last_accepted_run(soda_bin, db):
    """A drop beyond the bound is a gate until accepted; growth beyond it, a warning."""
    volume = ("raw/tracks", "marts/fct_listens")
    assert verify(soda_bin, db.info.dbname, *volume).rc == 0
    assert (baseline(db, "raw.tracks"), baseline(db, "marts.fct_listens")) == (4, 4)
    db.execute("DELETE FROM raw.tracks WHERE id > 1")  # -75 %
    db.execute(
        "INSERT INTO marts.fct_listens SELECT user_id, track_id, position + 10, history_created_at,"
        " history_updated_at, first_seen_at, is_known_track FROM marts.fct_listens WHERE user_id = 10"
    )  # +75 %
    db.execute("INSERT INTO marts.fct_listens VALUES (11, 1, 30, now(), now(), now(), true)")  # +100 %
    db.execute("INSERT INTO marts.fct_listens VALUES (11, 1, 31, now(), now(), now(), true)")  # +125 %
    run = verify(soda_bin, db.info.dbname, *volume)
    assert run.rc == 1, run.output
    assert run.checks == {
        "raw/tracks": [("gate failed", "rows dropped by at most 50 %")],
        "marts/fct_listens": [("warning", "rows grew by at most 100 %")],
    }, run.output
    # A failed contract does not move its baseline, so re-running the job does not let the
    # drop through; a passed one (warnings allowed) does.
    assert (baseline(db, "raw.tracks"), baseline(db, "marts.fct_listens")) == (4, 9)
    # An operator accepts the new volume once with a wider bound; it becomes the baseline.
    run = verify(soda_bin, db.info.dbname, "raw/tracks", QUALITY_VOLUME_GATE_DROP_PCT="80")
    assert run.rc == 0, run.output
    assert "rows dropped by at most 80 %" in run.output
    history = db.execute(
        "select row_count, accepted from quality.volume_history where dataset = 'raw.tracks' order by recorded_at"
    ).fetchall()
    assert history == [(4, True), (1, False), (1, True)]


def test_missing_table_is_an_error(soda_bin, db):
    db.execute("DROP TABLE marts.user_track_interactions")
    # A type a check cannot compute on: the schema check fails, the valid_min check errors.
    db.execute("ALTER TABLE marts.dim_tracks ALTER COLUMN duration_seconds TYPE text")
    db.execute("DELETE FROM raw.users")
    run = verify(
        soda_bin, db.info.dbname, "marts/user_track_interactions", "marts/dim_tracks", "raw/users", "raw/tracks"
    )
    assert run.rc == 3, run.output  # errors outrank failures
    assert run.outcomes == {
        "marts/user_track_interactions": "ERROR",
        "marts/dim_tracks": "ERROR",
        "raw/users": "FAILED",
        "raw/tracks": "PASSED",
    }, run.output
    assert run.totals == {"passed": 1, "failed": 1, "errors": 2, "warnings": 0}
    errored = {s.get("name") for s in run.junit.findall("testsuite") if s.get("errors") == "1"}
    assert errored == {"marts/user_track_interactions", "marts/dim_tracks"}


def test_a_directory_selects_its_contracts(soda_bin, db):
    db.execute("DELETE FROM marts.dim_users")  # not selected: must not matter
    contracts = QUALITY_DIR / "contracts"
    run = verify(soda_bin, db.info.dbname, str(contracts / "pii"), str(contracts / "ops"))
    assert run.rc == 0, run.output
    assert run.outcomes == {"pii/users": "PASSED", "ops/identity_conflicts": "PASSED"}


def test_unreachable_warehouse_is_an_error(soda_bin, db):
    env_port = CONN["port"]
    CONN["port"] = 1  # nothing listens on port 1
    try:
        run = verify(soda_bin, db.info.dbname, "raw/tracks")
    finally:
        CONN["port"] = env_port
    assert run.rc == 3, run.output
    assert run.outcomes == {"raw/tracks": "ERROR"}
