"""Keep quality.volume_history, the memory behind the contracts' volume checks (the table
and its function: orchestrate/migrations/quality.sql).

    python record.py record DATASET=ACCEPTED ...    store each DATASET's row count now; ACCEPTED
                                                    is true when its contract passed, else false

verify_all.sh runs it with the Python of the soda venv (soda-postgres brings psycopg), so
it needs nothing else installed. Connection: the WAREHOUSE_* variables, as datasource.yml.
"""

from __future__ import annotations

import os
import re
import sys

import psycopg
from psycopg import sql

OUTCOME = r"\w+\.\w+=(true|false)"


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


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "record" and all(re.fullmatch(OUTCOME, a) for a in argv[2:]):
        record({a.split("=")[0]: a.endswith("=true") for a in argv[2:]})
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
