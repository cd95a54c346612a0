"""`bookmark-guard`: the first task of the daily job, before the extract-load.

The tap reads only what changed after its bookmark. A bookmark of a stream whose raw table
is missing or empty (dropped, restored from an older backup, a new warehouse under an old
state) would skip every record older than it, for ever: this drops such a bookmark
through Meltano's own state commands, so the stream is read in full. Streams without a
bookmark (rejected_records) are left alone, and so is any state while the tables hold
rows.

Settings (Meltano plugin settings, env BOOKMARK_GUARD_*): state_id (the extract-load's
state, `<environment>:tap-moovitamix-to-target-postgres`), schema (where the target
writes, `raw`). The warehouse: WAREHOUSE_HOST, _PORT, _USER, _PASSWORD, _DB.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger("bookmark_guard")


def meltano_command() -> str:
    """The Meltano running this job: on PATH, else the project's own venv."""
    found = shutil.which("meltano")
    if found:
        return found
    return str(Path(os.environ["MELTANO_PROJECT_ROOT"]) / ".venv" / "bin" / "meltano")


def read_state(state_id: str) -> dict:
    result = subprocess.run(
        [meltano_command(), "state", "get", state_id], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout or "{}")


def write_state(state_id: str, state: dict) -> None:
    subprocess.run(
        [meltano_command(), "state", "set", "--force", state_id, json.dumps(state)],
        capture_output=True, text=True, check=True,
    )


def holds_rows(connection: psycopg.Connection, schema: str, table: str) -> bool:
    exists = connection.execute("select to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0]
    if exists is None:
        return False
    query = sql.SQL("select exists (select from {}.{})").format(sql.Identifier(schema), sql.Identifier(table))
    return bool(connection.execute(query).fetchone()[0])


def unbacked_streams(state: dict, connection: psycopg.Connection, schema: str) -> list[str]:
    """The streams whose bookmark is not backed by a single row of their table."""
    bookmarks = state.get("singer_state", {}).get("bookmarks", {})
    return sorted(
        stream
        for stream, bookmark in bookmarks.items()
        if isinstance(bookmark, dict) and bookmark.get("replication_key_value") is not None
        and not holds_rows(connection, schema, stream)
    )


def without_bookmarks(state: dict, streams: list[str]) -> dict:
    bookmarks = {
        stream: bookmark
        for stream, bookmark in state["singer_state"]["bookmarks"].items()
        if stream not in streams
    }
    return {**state, "singer_state": {**state["singer_state"], "bookmarks": bookmarks}}


def connect() -> psycopg.Connection:
    return psycopg.connect(
        host=os.environ["WAREHOUSE_HOST"],
        port=int(os.environ["WAREHOUSE_PORT"]),
        user=os.environ["WAREHOUSE_USER"],
        password=os.environ.get("WAREHOUSE_PASSWORD") or None,
        dbname=os.environ["WAREHOUSE_DB"],
        connect_timeout=15,
        autocommit=True,
    )


def main(argv: list[str] | None = None) -> int:
    # Configured by Meltano through the environment: the options are only --help.
    argparse.ArgumentParser(
        prog="bookmark-guard", description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog=__doc__.split("\n\n")[2].replace("\n", " "),
    ).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    state_id = os.environ["BOOKMARK_GUARD_STATE_ID"]
    schema = os.environ["BOOKMARK_GUARD_SCHEMA"]
    state = read_state(state_id)
    with connect() as connection:
        streams = unbacked_streams(state, connection, schema)
    if not streams:
        log.info("event=bookmarks_backed state_id=%s", state_id)
        return 0
    write_state(state_id, without_bookmarks(state, streams))
    log.warning(
        "event=bookmarks_dropped state_id=%s streams=%s reason=%s",
        state_id, ",".join(streams), json.dumps(f"{schema} table missing or empty: the stream is read in full"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
