"""The page's HTML tables and text: the last run, every run, the status line."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable

from orchestrate.report.ledger import Ledger, utc

STATUS_CLASSES = {"success", "failed", "aborted", "running", "breached", "ok"}


def fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "NaN"
    if isinstance(value, dt.datetime):
        return utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def breakable(value: str) -> str:
    """Escaped, and breakable after "_" and "/": long names wrap in a narrow window, words stay whole."""
    return html.escape(value).replace("_", "_<wbr>").replace("/", "/<wbr>")


def boxed_table(css: str, head: str, rows: str) -> str:
    """A table in a box that scrolls sideways if it must, rather than widening the page."""
    return f'<div class="table"><table class="{css}"><tr>{head}</tr>{rows}</table></div>'


def table(headers: list[str], rows: Iterable[Iterable[object]], css: str = "") -> str:
    head = "".join(f"<th>{breakable(h)}</th>" for h in headers)
    body = []
    for cells in rows:
        out = []
        for cell in cells:
            text = fmt(cell)
            status = f' class="{text}"' if text in STATUS_CLASSES else ""
            out.append(f"<td{status}>{breakable(text)}</td>")
        body.append(f"<tr>{''.join(out)}</tr>")
    return boxed_table(css, head, "".join(body))


def empty(text: str) -> str:
    return f'<p class="empty">{html.escape(text)}</p>'


def last_run_html(ledger: Ledger) -> str:
    if not ledger.runs:
        return empty("no run recorded yet: make run")
    last = ledger.runs[-1]["run_id"]
    steps = sorted(ledger.steps[last].values(), key=lambda s: s["step_index"])
    model = ledger.models.get(last)
    parts = [
        table(["#", "step", "status", "seconds", "exit", "error"],
              ([s["step_index"], s["step"], s["status"], _seconds(s["duration_s"]), s["exit_code"], s["error"]]
               for s in steps)),
        table(["metric", "subject", "value", "threshold", "verdict", "message"],
              ([h["metric"], h["subject"], h["value"], h["threshold"], "breached" if h["breached"] else "ok",
                h["message"]] for h in ledger.health[last])),
        "<details><summary>every figure of the last run</summary>",
        table(["step", "subject", "metric", "value", "detail"],
              ([f["step"], f["subject"], f["metric"], f["value"], f["detail"]]
               for f in sorted(ledger.figures[last], key=lambda f: (f["step"], f["subject"], f["metric"])))),
        # The recommender's own record of the run, beside the figures.
        table(["recommender (ml.training_runs)", "value"],
              ([column, value] for column, value in model.items() if column != "run_id")) if model else "",
        "</details>",
    ]
    return "".join(parts)


def runs_html(ledger: Ledger) -> str:
    if not ledger.runs:
        return empty("no run recorded yet: make run")
    return table(["run", "started", "status", "seconds", "failed step", "error"],
                 ([r["run_id"], r["started_at"], r["status"], _seconds(r["duration_s"]), r["failed_step"], r["error"]]
                  for r in reversed(ledger.runs)))


def status_html(ledger: Ledger) -> str:
    if not ledger.runs:
        return '<p id="status">no run recorded yet: make run</p>'
    last = ledger.runs[-1]
    seconds = None if last["duration_s"] is None else f"{fmt(_seconds(last['duration_s']))} s"  # running: none yet
    text = " · ".join(fmt(v) for v in (last["run_id"], last["environment"], last["status"], seconds, last["error"])
                      if v)
    return f'<p id="status" class="{html.escape(last["status"])}">{html.escape(text)}</p>'
