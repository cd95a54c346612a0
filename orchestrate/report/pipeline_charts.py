"""The charts of the questions an operator asks of the runs: on time, complete, quality,
the model against popularity, users served."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from orchestrate import training_runs
from orchestrate.report.charts import Chart, layout, present
from orchestrate.report.ledger import Ledger, utc
from orchestrate.report.soda import soda_outcome

OUTCOME_COLOURS = {"passed": "#2ca02c", "warned": "#ff7f0e", "failed": "#d62728", "error / not evaluated": "#7f7f7f"}


def _line(ledger: Ledger, name: str, values: list[float | None], form: str, unit: str = "",
          **style: object) -> go.Scatter:
    """One series over the runs; a run without a value is a gap. Its tooltip: value and unit."""
    return go.Scatter(x=ledger.x, y=values, name=name, mode="lines+markers", connectgaps=False,
                      hovertemplate=f"%{{y:{form}}}{unit}", **style)


def _limit(ledger: Ledger, name: str, values: list[float | None], form: str, unit: str = "") -> go.Scatter:
    """A threshold per run, dashed; small markers, so that a threshold known for one run only shows."""
    return go.Scatter(x=ledger.x, y=values, name=name, mode="lines+markers", connectgaps=True,
                      line={"dash": "dash", "width": 1.5, "color": "#6b7280"}, marker={"size": 4},
                      hovertemplate=f"%{{y:{form}}}{unit}")


def _lines(ledger: Ledger, y_title: str, traces: list[go.Scatter], **yaxis: object) -> go.Figure | None:
    """The figure of these series, or None when none has a value (a limit alone is no data)."""
    if not any(present(trace.y) for trace in traces if trace.line.dash is None):
        return None
    return layout(go.Figure([trace for trace in traces if present(trace.y)]), ledger.x, y_title, **yaxis)


def durations_chart(ledger: Ledger) -> Chart:
    end_to_end = _line(ledger, "end to end", [run["duration_s"] for run in ledger.runs], ".1f",
                       customdata=[[run["run_id"], run["status"]] for run in ledger.runs],
                       line={"width": 3, "color": "#1d2330"})
    end_to_end.hovertemplate = "%{y:.1f} s · %{customdata[0]} %{customdata[1]}"
    steps = [_line(ledger, name, [ledger.steps[run_id].get(name, {}).get("duration_s") for run_id in ledger.ids],
                   ".1f", " s") for name in ledger.step_names]
    failed = [(x, step) for x, run_id in zip(ledger.x, ledger.ids, strict=True)
              for step in ledger.steps[run_id].values() if step["status"] not in ("success", "running")]
    traces = [end_to_end, *steps]
    if failed:
        traces.append(go.Scatter(
            x=[x for x, _ in failed], y=[step["duration_s"] or 0 for _, step in failed], name="failed step",
            mode="markers", marker={"symbol": "x", "size": 12, "color": "#c62828"},
            text=[f"{step['step']} {step['status']}" for _, step in failed],
            hovertemplate="%{text}"))
    traces.append(_limit(ledger, "end-to-end limit (OPS_DURATION_FACTOR x p95)",
                         ledger.findings("duration_s", "threshold", "(end to end)"), ".1f", " s"))
    return Chart("durations", "Duration per step and end to end (seconds per run)",
                 _lines(ledger, "seconds", traces))


def freshness_chart(ledger: Ledger) -> Chart:
    """Hours from the run's end back to each source's latest load and latest update."""
    ends = [utc(run["finished_at"] or run["started_at"]).timestamp() for run in ledger.runs]

    def age(source: str, metric: str) -> list[float | None]:
        epochs = ledger.per_run([metric], source)
        return [None if epoch is None else (end - epoch) / 3600 for epoch, end in zip(epochs, ends, strict=True)]

    traces = [_line(ledger, f"{source}: since last {what}", age(source, metric), ".2f", " h")
              for source in ledger.subjects("latest_loaded_at", "latest_updated_at")
              for what, metric in (("load", "latest_loaded_at"), ("update", "latest_updated_at"))]
    warn_after = [max((f["value"] for f in ledger.figures[run_id]
                       if f["metric"] == "freshness_warn_after_hours" and f["value"] is not None), default=None)
                  for run_id in ledger.ids]
    traces.append(_limit(ledger, "dbt warn_after (sources.yml)", warn_after, ".0f", " h"))
    return Chart("freshness", "Freshness: hours since each source's last load and last update, at the run's end",
                 _lines(ledger, "hours", traces))


def volumes_chart(ledger: Ledger) -> Chart:
    entities = [s for s in ledger.subjects("rows") if s.startswith("raw.") and s != "raw.rejected_records"]
    traces = [_line(ledger, entity, ledger.per_run(["rows"], entity), ",.0f") for entity in entities]
    return Chart("volumes", "Rows per raw entity after each run", _lines(ledger, "rows", traces))


def rejected_chart(ledger: Ledger) -> Chart:
    """Rejected records per stream: its rows in raw.rejected_records of the run (figures.py), else
    the tap's own count at the stream's end (0 when it rejected none); a gap where neither is."""
    traces = []
    for stream in ledger.subjects("rejected_records", "rejected"):
        landed, counted = ledger.per_run(["rejected_records"], stream), ledger.per_run(["rejected"], stream)
        values = [rows if rows is not None else count for rows, count in zip(landed, counted, strict=True)]
        traces.append(_line(ledger, stream, values, ",.0f"))
    return Chart("rejected", "Rejected records per stream (raw.rejected_records of each run)",
                 _lines(ledger, "records", traces))


QUALITY_TITLE = "dbt tests and Soda checks per run: passed, warned, failed, error"


def quality_chart(ledger: Ledger) -> Chart:
    dbt = {
        "passed": ["tests_pass", "unit_tests_pass"],
        "warned": ["tests_warn"],
        "failed": ["tests_fail", "unit_tests_fail"],
        "error / not evaluated": ["tests_error", "unit_tests_error"],
    }
    ran_dbt = [any(f["metric"].startswith(("tests_", "unit_tests_")) for f in ledger.figures[run_id])
               for run_id in ledger.ids]
    counts: dict[str, dict[str, list[float | None]]] = {"dbt tests": {}, "Soda checks": {}}
    for outcome, metrics in dbt.items():
        counts["dbt tests"][outcome] = [(ledger.total(run_id, metrics) or 0.0) if ran else None
                                        for run_id, ran in zip(ledger.ids, ran_dbt, strict=True)]
    soda_group = {"PASSED": "passed", "WARN": "warned", "FAILED": "failed"}
    for outcome in OUTCOME_COLOURS:
        counts["Soda checks"][outcome] = []
    for run_id in ledger.ids:
        checks = [f for f in ledger.figures[run_id] if f["metric"] in ("check_passed", "contract_passed")]
        for outcome in OUTCOME_COLOURS:
            counts["Soda checks"][outcome].append(None if not checks else 0.0)
        for row in checks:
            outcome = soda_outcome(row)
            if row["metric"] == "contract_passed" and outcome != "ERROR":
                continue  # a contract's checks are counted; a contract that could not run is an error
            group = soda_group.get(outcome, "error / not evaluated")
            counts["Soda checks"][group][-1] += 1
    if not any(present(v) for tool in counts.values() for v in tool.values()):
        return Chart("quality", QUALITY_TITLE, None, 480)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.14,
                           subplot_titles=list(counts))
    shown: set[str] = set()
    for row, (tool, outcomes) in enumerate(counts.items(), 1):
        for outcome, values in outcomes.items():
            if not any(values):
                continue  # no bar to draw: an outcome that never happened (its legend entry comes from the other)
            figure.add_trace(go.Bar(
                x=ledger.x, y=values, name=outcome, legendgroup=outcome, showlegend=outcome not in shown,
                marker_color=OUTCOME_COLOURS[outcome], hovertemplate=f"%{{y}} ({tool})",
            ), row=row, col=1)
            shown.add(outcome)
    figure.update_layout(barmode="stack", legend_traceorder="normal")
    layout(figure, ledger.x, "count", rows=2)
    # The legend in the outcomes' order, whichever tool drew each first.
    for trace in figure.data:
        trace.legendrank = list(OUTCOME_COLOURS).index(trace.name)
    return Chart("quality", QUALITY_TITLE, figure, 480)


def model_chart(ledger: Ledger) -> Chart:
    decisions = [training_runs.verdict(ledger.models.get(run_id, {})) or "" for run_id in ledger.ids]
    model = _line(ledger, "model NDCG@10", ledger.model("ndcg_at_10"), ".4f", customdata=decisions,
                  line={"width": 3})
    model.hovertemplate = "%{y:.4f} · %{customdata}"
    traces = [
        model,
        _line(ledger, "champion NDCG@10", ledger.model("champion_ndcg_at_10"), ".4f"),
        _line(ledger, "popularity baseline NDCG@10", ledger.model("popularity_ndcg_at_10"), ".4f"),
    ]
    return Chart("model", "Is the model better than popularity? NDCG@10 of the model, the champion and popularity",
                 _lines(ledger, "NDCG@10", traces))


def users_chart(ledger: Ledger) -> Chart:
    traces = [
        _line(ledger, "users scored / users", ledger.findings("users_scored_ratio", "value"), ".1%"),
        _line(ledger, "catalogue coverage", ledger.model("coverage"), ".1%"),
        _limit(ledger, "users scored floor (OPS_MIN_USERS_SCORED_RATIO)",
               ledger.findings("users_scored_ratio", "threshold"), ".1%"),
        _limit(ledger, "coverage floor (OPS_MIN_COVERAGE)", ledger.findings("coverage", "threshold"), ".1%"),
    ]
    return Chart("users", "Are users served? Share of users with recommendations, catalogue coverage",
                 _lines(ledger, "share", traces, tickformat=".0%"))


QUESTIONS = [
    ("on-time", "Is it on time?", [durations_chart, freshness_chart]),
    ("complete", "Is the data complete?", [volumes_chart, rejected_chart]),
    ("quality", "Did quality pass?", [quality_chart]),
    ("model", "Is the model better than popularity?", [model_chart]),
    ("served", "Are users served?", [users_chart]),
]
