"""The health report: one self-contained HTML page built from the run ledger.

    python -m orchestrate.report      (make report) writes reports/health.html, prints its path last

No network is needed to open it: the figures are embedded as JSON and drawn as inline
SVG by the page's own script (orchestrate/report_assets/). Charts: volumes per entity,
duration per step, check outcomes, freshness per source, model metrics against the
baseline and the champion, over the last REPORT_RUNS runs (default 60); then the last
run's steps, figures and thresholds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import sys
from pathlib import Path

import psycopg

from orchestrate.project import PROJECT_ROOT, load_dotenv
from orchestrate.roles import prepare_warehouse
from orchestrate.settings import number
from orchestrate.summary import connect_warehouse

ASSETS = Path(__file__).with_name("report_assets")
REPORT_DIR = PROJECT_ROOT / "reports"


def _rows(connection: psycopg.Connection, query: str, *params: object) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def report_data(connection: psycopg.Connection) -> dict:
    limit = int(number("REPORT_RUNS"))
    runs = _rows(
        connection,
        "select run_id, job, environment, started_at, finished_at, duration_s, status, failed_step, error"
        " from (select * from ops.pipeline_runs order by started_at desc limit %s) recent order by started_at",
        limit,
    )
    run_ids = [run["run_id"] for run in runs]
    steps = _rows(
        connection,
        "select run_id, step_index, step, task, started_at, duration_s, status, exit_code, error"
        " from ops.pipeline_steps where run_id = any(%s) order by run_id, step_index",
        run_ids,
    )
    figures = _rows(
        connection,
        "select run_id, step, subject, metric, value, detail from ops.pipeline_figures where run_id = any(%s)",
        run_ids,
    )
    health = _rows(
        connection,
        "select run_id, metric, subject, value, threshold, breached, message from ops.pipeline_health"
        " where run_id = any(%s) order by breached desc, metric, subject",
        run_ids,
    )
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "steps": steps,
        "figures": figures,
        "health": health,
    }


def render(data: dict) -> str:
    # "</" would end the <script> element that carries the data: escape it in the JSON.
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    page = (ASSETS / "report.html").read_text()
    return (
        page.replace("/*STYLE*/", (ASSETS / "report.css").read_text())
        .replace("/*SCRIPT*/", (ASSETS / "report.js").read_text())
        .replace("/*DATA*/", payload)
        .replace("{{generated_at}}", html.escape(data["generated_at"]))
    )


def write_report(connection: psycopg.Connection, path: Path | None = None) -> Path:
    target = path or Path(os.environ.get("REPORT_PATH", REPORT_DIR / "health.html"))
    target.parent.mkdir(parents=True, exist_ok=True)
    prepare_warehouse(connection)  # a warehouse no run has prepared still gives an (empty) report
    replace_file(target, render(report_data(connection)))
    return target.resolve()


def replace_file(target: Path, text: str) -> None:
    """`text` as the whole of `target`, or `target` untouched: written beside it, then renamed
    over it, so a full disk never leaves half a page where the last report was."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
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
