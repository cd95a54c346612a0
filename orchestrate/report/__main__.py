"""Writes the health report of the warehouse (REPORT_PATH, default reports/health.html), its path last.

    python -m orchestrate.report      (make report)
"""

from __future__ import annotations

import argparse
import sys

import psycopg

from orchestrate.project import load_dotenv
from orchestrate.report.page import write_report
from orchestrate.summary import connect_warehouse


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m orchestrate.report", description=__doc__.splitlines()[0]).parse_args(argv)
    load_dotenv()
    try:
        with connect_warehouse() as connection:
            path = write_report(connection)
    except psycopg.Error as error:
        print(f"error: the warehouse is unreachable, no report written: {error}".strip(), file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
