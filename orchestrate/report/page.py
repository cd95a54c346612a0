"""The page: every section in the template of assets/, written whole or not at all."""

from __future__ import annotations

import html
import os
import string
from pathlib import Path

import psycopg
from plotly.offline import get_plotlyjs

from orchestrate.project import PROJECT_ROOT
from orchestrate.report.charts import chart_html, charts_json
from orchestrate.report.data import report_data
from orchestrate.report.data_charts import data_charts, data_html
from orchestrate.report.ledger import Ledger
from orchestrate.report.pipeline_charts import QUESTIONS
from orchestrate.report.soda import soda_html
from orchestrate.report.tables import last_run_html, runs_html, status_html

ASSETS = Path(__file__).with_name("assets")
REPORT_DIR = PROJECT_ROOT / "reports"


def render(data: dict) -> str:
    ledger = Ledger(data)
    sections, drawn = [], []
    for key, question, builders in QUESTIONS:
        charts = [build(ledger) for build in builders]
        drawn += charts
        extra = f'<div id="soda">{soda_html(ledger)}</div>' if key == "quality" else ""
        sections.append(f'<section class="question" id="{key}"><h2>{html.escape(question)}</h2>'
                        f'<div class="charts">{"".join(chart_html(c) for c in charts)}</div>{extra}</section>')
    profile = data.get("profile") or {}
    profile_charts = data_charts(profile)
    drawn += profile_charts
    # plotly.js once, inline, and the script that draws each chart with it (nothing in an empty ledger).
    scripts = ""
    if any(chart.figure is not None for chart in drawn):
        scripts = (f'<script type="application/json" id="charts">{charts_json(drawn)}</script>'
                   f"<script>{get_plotlyjs()}</script><script>{(ASSETS / 'report.js').read_text()}</script>")
    page = string.Template((ASSETS / "report.html").read_text())
    return page.substitute(
        style=(ASSETS / "report.css").read_text(),
        scripts=scripts,
        generated_at=html.escape(data["generated_at"]),
        status=status_html(ledger),
        questions="".join(sections),
        data=data_html(profile, profile_charts),
        last_run=last_run_html(ledger),
        runs=runs_html(ledger),
    )


def write_report(connection: psycopg.Connection, path: Path | None = None) -> Path:
    target = path or Path(os.environ.get("REPORT_PATH", REPORT_DIR / "health.html"))
    target.parent.mkdir(parents=True, exist_ok=True)
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
