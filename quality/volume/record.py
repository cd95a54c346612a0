"""Keep quality.volume_history, the memory behind the contracts' volume checks (the table
and its function: orchestrate/migrations/quality.sql).

verify.py records each verified dataset's row count with whether its contract passed. It
runs in the soda venv (soda-postgres brings psycopg), so this needs nothing else
installed. Connection: the WAREHOUSE_* variables, as datasource.yml.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql


def connect() -> psycopg.Connection:
    return psycopg.connect(
        host=os.environ["WAREHOUSE_HOST"],
        port=os.environ["WAREHOUSE_PORT"],
        user=os.environ["WAREHOUSE_USER"],
        password=os.environ.get("WAREHOUSE_PASSWORD") or None,
        dbname=os.environ["WAREHOUSE_DB"],
        connect_timeout=10,
        autocommit=True,
    )


def record(outcomes: dict[str, bool]) -> None:
    with connect() as conn:
        for dataset, accepted in outcomes.items():
            if conn.execute("select to_regclass(%s)", (dataset,)).fetchone()[0] is None:
                continue  # the contract already reported the missing table as an error
            schema, table = dataset.split(".", 1)
            rows = conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
            ).fetchone()[0]
            conn.execute(
                "insert into quality.volume_history (dataset, row_count, accepted, run_id)"
                " values (%s, %s, %s, %s)",
                (dataset, rows, accepted, os.environ.get("MELTANO_RUN_ID")),
            )
