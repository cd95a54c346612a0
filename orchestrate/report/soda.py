"""The Soda section: each contract and check of the last runs, failures first."""

from __future__ import annotations

import html
import json
from collections import defaultdict

from orchestrate.report.ledger import Ledger, utc
from orchestrate.report.tables import boxed_table, breakable, empty, fmt

SODA_RUNS = 5  # the section's columns: the last runs that have Soda results
# Soda outcomes, worst first: the order of the section's rows.
SEVERITY = {"FAILED": 0, "ERROR": 0, "WARN": 1, "PASSED_WITH_WARNINGS": 1, "NOT_EVALUATED": 2, "EXCLUDED": 2,
            "PASSED": 3}


def soda_outcome(row: dict) -> str:
    """A Soda figure's outcome: the detail's first word (figures.py), else from its value."""
    word = (row["detail"] or "").split(" ", 1)[0].rstrip(":")
    if word in SEVERITY:
        return word
    return {1.0: "PASSED", 0.5: "WARN", 0.0: "FAILED"}.get(row["value"], "NOT_EVALUATED")


def _measured(detail: str | None) -> str:
    """The measured values of a Soda check, from its figure's detail: `OUTCOME {json}` (figures.py)."""
    _, _, text = (detail or "").partition(" ")
    try:
        measured = json.loads(text) if text else {}
    except ValueError:  # cut at 2,000 characters: the text as it is
        return text
    if not isinstance(measured, dict):
        return fmt(measured)
    return ", ".join(f"{key} = {fmt(float(v) if isinstance(v, int) else v)}" for key, v in measured.items())


def _outcome_cell(row: dict | None, measured: bool) -> str:
    if row is None:
        return '<td class="absent">—</td>'
    outcome = soda_outcome(row)
    extra = _measured(row["detail"]) if measured else (row["detail"] or "").partition(": ")[2]
    note = f'<div class="measured">{breakable(extra)}</div>' if extra else ""
    return f'<td><span class="soda {outcome.lower()}">{breakable(outcome)}</span>{note}</td>'


def soda_html(ledger: Ledger) -> str:
    """Each contract and check of the last runs with Soda results: outcome and measured value, failures first."""
    runs = [run for run in ledger.runs
            if any(f["metric"] in ("check_passed", "contract_passed") for f in ledger.figures[run["run_id"]])]
    runs = list(reversed(runs[-SODA_RUNS:]))
    if not runs:
        return empty("no Soda results yet")
    parts = []
    last = ledger.runs[-1]
    if last["run_id"] != runs[0]["run_id"]:
        parts.append(f'<p class="note">The last run, {html.escape(last["run_id"])} ({html.escape(last["status"])}),'
                     " has no Soda results: it ended before soda_verify_all wrote them.</p>")
    head = "".join(f'<th>{html.escape(utc(run["started_at"]).strftime("%Y-%m-%d %H:%M"))}<br>'
                   f'<span class="run-id">{breakable(run["run_id"])}</span> '
                   f'<span class="{html.escape(run["status"])}">{html.escape(run["status"])}</span></th>'
                   for run in runs)
    for metric, kind in (("contract_passed", "contract"), ("check_passed", "check")):
        cells: dict[str, dict[str, dict]] = defaultdict(dict)
        for run in runs:
            for row in ledger.figures[run["run_id"]]:
                if row["metric"] == metric:
                    cells[row["subject"]][run["run_id"]] = row

        def order(subject: str, cells: dict[str, dict[str, dict]] = cells) -> tuple:
            outcomes = [SEVERITY.get(soda_outcome(cells[subject][run["run_id"]]), 2) if run["run_id"] in
                        cells[subject] else 4 for run in runs]
            return (min(outcomes), outcomes[0], subject)

        rows = []
        for subject in sorted(cells, key=order):
            contract, _, check = subject.partition(" · ")
            names = f"<td>{breakable(contract)}</td>" + (f"<td>{breakable(check)}</td>" if kind == "check" else "")
            rows.append(f"<tr>{names}"
                        + "".join(_outcome_cell(cells[subject].get(run["run_id"]), kind == "check") for run in runs)
                        + "</tr>")
        headers = "<th>contract</th>" + ("<th>check (column: name)</th>" if kind == "check" else "")
        title = "Contracts" if kind == "contract" else "Checks: outcome and measured value"
        parts.append(f"<h3>{title}</h3>")
        parts.append(boxed_table(f"soda-{kind}s", headers + head, "".join(rows))
                     if rows else empty(f"no Soda {kind} recorded"))
    return "".join(parts)
