"""The health report: one self-contained HTML page built from the run ledger.

    python -m orchestrate.report      (make report) writes reports/health.html, prints its path last

No network is needed to open it: the charts are Plotly figures built here from the ledger
(plotly.graph_objects) and drawn by plotly.js, embedded once in the page (the copy the
`plotly` package ships); the tables are plain HTML. One chart per question an operator
asks, over the last REPORT_RUNS runs (default 60):

- is it on time: duration per step and end to end; hours since each source's last load
  and last update;
- is the data complete: rows per raw entity; rejected records per stream;
- did quality pass: dbt tests and Soda checks per run (passed / warned / failed / error),
  then each Soda contract and check of the last runs, failures first;
- is the model better than popularity: NDCG@10 of the model, the champion and popularity;
- are users served: share of users scored and catalogue coverage against their floors;

then the data, what a data scientist reads before trusting the model, from the small dbt marts
that profile it (marts.profile_*, marts.daily_volumes; never the listens themselves): listens
and listeners per load day, the share of listens in the listener's favourite genre, users by
history length, new users and tracks per day, the top genres and artists. A mart dbt has not
built yet (or built in an older shape) is a chart that says "no data yet". Then the last run's
steps, thresholds and figures, and every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import string
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import psycopg
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from orchestrate import training_runs
from orchestrate.project import PROJECT_ROOT, load_dotenv
from orchestrate.settings import number
from orchestrate.summary import connect_warehouse

ASSETS = Path(__file__).with_name("report_assets")
REPORT_DIR = PROJECT_ROOT / "reports"
SODA_RUNS = 5  # the Soda section's columns: the last runs that have Soda results
PROFILE_DAYS = 365  # the data section's charts per load day: the last days of the profile
TOP = 10  # top genres, top artists
LABEL_CHARS = 28  # a longer genre or artist name is shortened on its chart's axis
CHART_HEIGHT = 420
PLOT_CONFIG = {"responsive": True, "displaylogo": False}
OUTCOME_COLOURS = {"passed": "#2ca02c", "warned": "#ff7f0e", "failed": "#d62728", "error / not evaluated": "#7f7f7f"}
# Soda outcomes, worst first: the order of the Soda section's rows.
SEVERITY = {"FAILED": 0, "ERROR": 0, "WARN": 1, "PASSED_WITH_WARNINGS": 1, "NOT_EVALUATED": 2, "EXCLUDED": 2,
            "PASSED": 3}
STATUS_CLASSES = {"success", "failed", "aborted", "running", "breached", "ok"}


# What a warehouse may lack: a table no run has prepared yet (ops, ml: the report only reads,
# the run applies the migrations) or dbt has not built yet (the profile marts), or one in an
# older shape. Its section is then empty rather than the report missing.
ABSENT = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.DatatypeMismatch)


def _rows(connection: psycopg.Connection, query: str, params: Sequence | Mapping) -> list[dict] | None:
    """The query's rows, or None when a table it reads is absent (ABSENT); in a transaction of
    its own, so a failed query leaves the session usable for the next."""
    try:
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(query, params)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except ABSENT:
        return None


def report_data(connection: psycopg.Connection) -> dict:
    limit = int(number("REPORT_RUNS"))
    runs = _rows(
        connection,
        "select run_id, job, environment, started_at, finished_at, duration_s, status, failed_step, error"
        " from (select * from ops.pipeline_runs order by started_at desc limit %s) recent order by started_at",
        (limit,),
    ) or []
    run_ids = [run["run_id"] for run in runs]
    steps = _rows(
        connection,
        "select run_id, step_index, step, task, started_at, duration_s, status, exit_code, error"
        " from ops.pipeline_steps where run_id = any(%s) order by run_id, step_index",
        (run_ids,),
    ) or []
    figures = _rows(
        connection,
        "select run_id, step, subject, metric, value, detail from ops.pipeline_figures where run_id = any(%s)",
        (run_ids,),
    ) or []
    health = _rows(
        connection,
        "select run_id, metric, subject, value, threshold, breached, message from ops.pipeline_health"
        " where run_id = any(%s) order by breached desc, metric, subject",
        (run_ids,),
    ) or []
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "steps": steps,
        "figures": figures,
        "health": health,
        "models": training_runs.read(connection, run_ids),
        "profile": profile_data(connection),
    }


# The data section's queries: each reads one small mart that dbt keeps (transform/models/marts/
# profile/, daily_volumes), never the listens themselves. Per-day tables: their last PROFILE_DAYS days.
PROFILE_QUERIES = {
    "daily": "select load_date, listens, listeners, catalogued_listens, favourite_genre_listens"
             " from marts.profile_daily_listens"
             " where load_date > (select max(load_date) from marts.profile_daily_listens) - %(days)s::integer"
             " order by load_date",
    "genres": "select genre, sum(listens)::bigint as listens, (sum(sum(listens)) over ())::bigint as total"
              " from marts.profile_daily_genre_listens group by genre order by listens desc, genre limit %(top)s",
    "artists": "select artist, listens, (sum(listens) over ())::bigint as total"
               " from marts.profile_artist_listens order by listens desc, artist limit %(top)s",
    "history": "select min_length, max_length, users from marts.profile_history_lengths order by min_length",
    "arrivals": "select load_date, entity, new_count from marts.daily_volumes"
                " where entity in ('users', 'tracks')"
                " and load_date > (select max(load_date) from marts.daily_volumes) - %(days)s::integer"
                " order by load_date, entity",
}


def profile_data(connection: psycopg.Connection) -> dict[str, list[dict] | None]:
    """Each of the data section's tables' rows; None for a mart this warehouse does not have
    (dbt has not built it yet) or has in another shape (built by an older version)."""
    return {key: _rows(connection, query, {"days": PROFILE_DAYS, "top": TOP})
            for key, query in PROFILE_QUERIES.items()}


class Ledger:
    """The ledger's rows indexed by run, as the charts and tables read them."""

    def __init__(self, data: dict) -> None:
        self.runs: list[dict] = data["runs"]
        self.ids = [run["run_id"] for run in self.runs]
        # Runs on a date axis: their start in UTC, without an offset (plotly.js would drop it).
        self.x = [_utc(run["started_at"]).strftime("%Y-%m-%d %H:%M:%S") for run in self.runs]
        self.steps: dict[str, dict[str, dict]] = defaultdict(dict)
        for step in data["steps"]:
            self.steps[step["run_id"]][step["step"]] = step
        # In the job's order (a step's first place in any run), each once.
        self.step_names = list(dict.fromkeys(name for _, name in sorted(
            (s["step_index"], s["step"]) for s in data["steps"])))
        self.figures: dict[str, list[dict]] = defaultdict(list)
        for row in data["figures"]:
            self.figures[row["run_id"]].append(row)
        self.health: dict[str, list[dict]] = defaultdict(list)
        for row in data["health"]:
            self.health[row["run_id"]].append(row)
        # The recommender's row of each run in ml.training_runs (none: it did not run).
        self.models: dict[str, dict] = data["models"]

    def subjects(self, *metrics: str) -> list[str]:
        return sorted({f["subject"] for rows in self.figures.values() for f in rows if f["metric"] in metrics})

    def total(self, run_id: str, metrics: Iterable[str], subject: str | None = None) -> float | None:
        """The sum of these figures of the run; None if it has none of them."""
        metrics = set(metrics)
        values = [f["value"] for f in self.figures[run_id]
                  if f["metric"] in metrics and (subject is None or f["subject"] == subject) and f["value"] is not None]
        return sum(values) if values else None

    def per_run(self, metrics: Iterable[str], subject: str | None = None) -> list[float | None]:
        return [self.total(run_id, metrics, subject) for run_id in self.ids]

    def model(self, column: str) -> list[float | None]:
        """A number of the recommender's row of each run; None where it recorded none."""
        return [self.models.get(run_id, {}).get(column) for run_id in self.ids]

    def finding(self, run_id: str, metric: str, subject: str | None = None) -> dict | None:
        return next((h for h in self.health[run_id]
                     if h["metric"] == metric and (subject is None or h["subject"] == subject)), None)

    def findings(self, metric: str, field: str, subject: str | None = None) -> list[float | None]:
        found = [self.finding(run_id, metric, subject) for run_id in self.ids]
        return [row[field] if row else None for row in found]


def _utc(value: dt.datetime | str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment


def _present(values: Iterable[float | None]) -> bool:
    return any(value is not None for value in values)


# --- charts -------------------------------------------------------------------------------

@dataclass
class Chart:
    key: str  # the page's element ids: figure chart-<key>
    title: str
    figure: go.Figure | None  # None: no data yet
    height: int = CHART_HEIGHT


def _base(figure: go.Figure, rows: int = 1, hovermode: str = "x unified") -> go.Figure:
    figure.update_layout(
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 12},
        margin={"l": 10, "r": 10, "t": 10 if rows == 1 else 36, "b": 10},
        hovermode=hovermode,
        showlegend=True,
        # Below the plot, wrapping onto as many rows as the names need: every name whole.
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0, "xanchor": "left",
                "font": {"size": 12}},
    )
    return figure


def _layout(figure: go.Figure, x: list[str], y_title: str, rows: int = 1, x_title: str = "run start (UTC)",
            hoverformat: str = "%Y-%m-%d %H:%M UTC", **yaxis: object) -> go.Figure:
    """A chart over time: dates on x (these x values: runs or load days), the legend below."""
    _base(figure, rows)
    figure.update_xaxes(type="date", hoverformat=hoverformat, automargin=True)
    if len(set(x)) == 1:  # one run or day: a day either side, not plotly's milliseconds around it
        only = dt.datetime.fromisoformat(x[0])
        figure.update_xaxes(range=[str(only - dt.timedelta(days=1)), str(only + dt.timedelta(days=1))])
    bottom = figure.layout[f"xaxis{rows}" if rows > 1 else "xaxis"]  # the lowest plot's axis carries the title
    bottom.title = {"text": x_title}
    figure.update_yaxes(title={"text": y_title}, rangemode="tozero", automargin=True, **yaxis)
    return figure


def _line(ledger: Ledger, name: str, values: list[float | None], form: str, unit: str = "",
          **style: object) -> go.Scatter:
    """One series over the runs; a run without a value is a gap. Its tooltip: value and unit."""
    return go.Scatter(x=ledger.x, y=values, name=name, mode="lines+markers", connectgaps=False,
                      hovertemplate=f"%{{y:{form}}}{unit}", **style)


def _limit(ledger: Ledger, name: str, values: list[float | None], form: str, unit: str = "") -> go.Scatter:
    """A threshold per run, dashed."""
    return go.Scatter(x=ledger.x, y=values, name=name, mode="lines", connectgaps=True,
                      line={"dash": "dash", "width": 1.5, "color": "#6b7280"},
                      hovertemplate=f"%{{y:{form}}}{unit}")


def _lines(ledger: Ledger, y_title: str, traces: list[go.Scatter], **yaxis: object) -> go.Figure | None:
    """The figure of these series, or None when none has a value (a limit alone is no data)."""
    if not any(_present(trace.y) for trace in traces if trace.line.dash is None):
        return None
    return _layout(go.Figure([trace for trace in traces if _present(trace.y)]), ledger.x, y_title, **yaxis)


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
    ends = [_utc(run["finished_at"] or run["started_at"]).timestamp() for run in ledger.runs]

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


def _soda_outcome(row: dict) -> str:
    """A Soda figure's outcome: the detail's first word (figures.py), else from its value."""
    word = (row["detail"] or "").split(" ", 1)[0].rstrip(":")
    if word in SEVERITY:
        return word
    return {1.0: "PASSED", 0.5: "WARN", 0.0: "FAILED"}.get(row["value"], "NOT_EVALUATED")


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
            outcome = _soda_outcome(row)
            if row["metric"] == "contract_passed" and outcome != "ERROR":
                continue  # a contract's checks are counted; a contract that could not run is an error
            group = soda_group.get(outcome, "error / not evaluated")
            counts["Soda checks"][group][-1] += 1
    if not any(_present(v) for tool in counts.values() for v in tool.values()):
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
    _layout(figure, ledger.x, "count", rows=2)
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


# --- the data: what the model learns from (the dbt profile marts) --------------------------

DAY_AXIS = {"x_title": "load day (UTC)", "hoverformat": "%Y-%m-%d"}


def _day(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else part / whole


def listens_chart(daily: list[dict] | None) -> Chart:
    title = "Listens and listeners per load day (listens first seen that day)"
    if not daily:
        return Chart("listens", title, None)
    x = [_day(row["load_date"]) for row in daily]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=x, y=[row["listens"] for row in daily], name="listens", mode="lines+markers",
                                line={"width": 3}, hovertemplate="%{y:,.0f}"), secondary_y=False)
    figure.add_trace(go.Scatter(x=x, y=[row["catalogued_listens"] for row in daily],
                                name="listens of catalogued tracks", mode="lines+markers",
                                hovertemplate="%{y:,.0f}"), secondary_y=False)
    figure.add_trace(go.Scatter(x=x, y=[row["listeners"] for row in daily], name="listeners (right axis)",
                                mode="lines+markers", line={"dash": "dot"}, hovertemplate="%{y:,.0f}"),
                     secondary_y=True)
    _layout(figure, x, "listens", **DAY_AXIS)
    # Its own round ticks (plotly.js syncs an overlaying axis' ticks to the left one's by default).
    figure.update_yaxes(title={"text": "listeners"}, showgrid=False, tickmode="auto", secondary_y=True)
    return Chart("listens", title, figure)


FAVOURITE_TITLE = "Share of listens in the listener's favourite genre, per load day"


def favourite_chart(daily: list[dict] | None) -> Chart:
    if not daily:
        return Chart("favourite", FAVOURITE_TITLE, None)
    x = [_day(row["load_date"]) for row in daily]
    share = go.Scatter(
        x=x, y=[_share(row["favourite_genre_listens"], row["listens"]) for row in daily],
        name="favourite-genre listens / listens", mode="lines+markers", line={"width": 3, "color": "#6a3d9a"},
        customdata=[[row["favourite_genre_listens"], row["listens"]] for row in daily],
        hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} listens)")
    catalogued = go.Scatter(
        x=x, y=[_share(row["catalogued_listens"], row["listens"]) for row in daily],
        name="catalogued-track listens / listens", mode="lines+markers", line={"dash": "dot", "color": "#8a93a3"},
        hovertemplate="%{y:.1%}")
    figure = go.Figure([trace for trace in (share, catalogued) if _present(trace.y)])
    if not figure.data:
        return Chart("favourite", FAVOURITE_TITLE, None)
    return Chart("favourite", FAVOURITE_TITLE,
                 _layout(figure, x, "share of the day's listens", tickformat=".0%", **DAY_AXIS))


def _bars(figure: go.Figure, x_title: str, y_title: str, horizontal: bool = False) -> go.Figure:
    """A chart of categories: bars, the categories' axis as the data gives them (top first)."""
    _base(figure, hovermode="closest")
    figure.update_xaxes(title={"text": x_title}, automargin=True)
    figure.update_yaxes(title={"text": y_title}, automargin=True)
    if horizontal:
        figure.update_layout(margin_t=34)  # the top bar clear of the mode bar
        figure.update_xaxes(rangemode="tozero")
        figure.update_yaxes(type="category", autorange="reversed")
    else:
        figure.update_xaxes(type="category")
        figure.update_yaxes(rangemode="tozero")
    return figure


def history_chart(history: list[dict] | None) -> Chart:
    title = "Users by listen-history length (current histories, tracks per user)"
    if not history or not any(row["users"] for row in history):
        return Chart("history", title, None)
    labels = [f"{row['min_length']}\u2013{row['max_length']}" if row["max_length"] is not None  # "0 to 9", en dash
              else f"{row['min_length']}+" for row in history]
    total = sum(row["users"] for row in history)
    figure = go.Figure(go.Bar(
        x=labels, y=[row["users"] for row in history], name="users", marker_color="#1f77b4",
        customdata=[row["users"] / total for row in history],
        hovertemplate="%{x} tracks: %{y:,} users (%{customdata:.1%})<extra></extra>"))
    return Chart("history", title, _bars(figure, "tracks in the user's history", "users"))


def _top_chart(key: str, title: str, rows: list[dict] | None, name_column: str, what: str,
               colour: str) -> Chart:
    if not rows:
        return Chart(key, title, None)
    names = [str(row[name_column]) for row in rows]
    figure = go.Figure(go.Bar(
        y=names, x=[row["listens"] for row in rows], orientation="h",
        name=f"listens per {what}", marker_color=colour,
        customdata=[[name, _share(row["listens"], row["total"])] for name, row in zip(names, rows, strict=True)],
        hovertemplate="%{customdata[0]}: %{x:,} listens (%{customdata[1]:.1%} of all)<extra></extra>"))
    _bars(figure, "listens", what, horizontal=True)
    # A long name shortened on its axis (whole in its tooltip): the bars keep their width.
    figure.update_yaxes(tickvals=names, ticktext=[_short(name) for name in names])
    return Chart(key, title, figure, 120 + 34 * len(rows))


def _short(name: str, most: int = LABEL_CHARS) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip() + "\u2026"


def genres_chart(genres: list[dict] | None) -> Chart:
    return _top_chart("genres", f"Top {TOP} genres: listens of catalogued tracks, all load days", genres,
                      "genre", "genre", "#2ca02c")


def artists_chart(artists: list[dict] | None) -> Chart:
    return _top_chart("artists", f"Top {TOP} artists: listens of catalogued tracks, running total", artists,
                      "artist", "artist", "#ff7f0e")


def arrivals_chart(arrivals: list[dict] | None) -> Chart:
    title = "New users and new tracks per load day (ids seen for the first time)"
    if not arrivals:
        return Chart("arrivals", title, None)
    x = sorted({_day(row["load_date"]) for row in arrivals})
    traces = []
    for entity, colour in (("users", "#1f77b4"), ("tracks", "#d62728")):
        counts = {_day(row["load_date"]): row["new_count"] for row in arrivals if row["entity"] == entity}
        traces.append(go.Scatter(x=x, y=[counts.get(day) for day in x], name=f"new {entity}", mode="lines+markers",
                                 line={"color": colour}, connectgaps=False, hovertemplate="%{y:,}"))
    return Chart("arrivals", title,
                 _layout(go.Figure([t for t in traces if _present(t.y)]), x, "new ids", **DAY_AXIS))


def profile_headline(daily: list[dict] | None) -> str:
    """The line a data scientist reads first: the last load day and its favourite-genre share."""
    if not daily:
        return empty("no data profile yet: dbt builds marts.profile_* in the next run's dbt_postgres_build")
    last = daily[-1]
    share = _share(last["favourite_genre_listens"], last["listens"])
    listens = sum(row["listens"] for row in daily)
    overall = _share(sum(row["favourite_genre_listens"] for row in daily), listens)
    parts = [f"Last load day {_day(last['load_date'])}: {last['listens']:,} listens from "
             f"{last['listeners']:,} listeners"]
    if share is not None:
        parts.append(f"{share:.1%} of them in the listener's favourite genre")
    if overall is not None and len(daily) > 1:
        parts.append(f"{overall:.1%} over the {len(daily)} load days shown")
    return f'<p class="headline" id="data-headline">{html.escape("; ".join(parts))}.</p>'


def data_charts(profile: dict[str, list[dict] | None]) -> list[Chart]:
    return [
        listens_chart(profile.get("daily")),
        favourite_chart(profile.get("daily")),
        history_chart(profile.get("history")),
        arrivals_chart(profile.get("arrivals")),
        genres_chart(profile.get("genres")),
        artists_chart(profile.get("artists")),
    ]


def data_html(profile: dict[str, list[dict] | None], charts: list[Chart]) -> str:
    return ('<section class="question" id="data"><h2>The data: what the model learns from</h2>'
            '<p class="note">From the dbt profile marts (marts.profile_daily_listens, profile_daily_genre_listens,'
            " profile_artist_listens, profile_history_lengths, daily_volumes), each built incrementally by the"
            " run's dbt_postgres_build.</p>"
            f'{profile_headline(profile.get("daily"))}'
            f'<div class="charts">{"".join(chart_html(c) for c in charts)}</div></section>')


def chart_html(chart: Chart) -> str:
    """The chart's place in the page; the page's script draws it there once the page is laid out."""
    if chart.figure is None:
        body = '<p class="empty">no data yet</p>'
    else:
        body = f'<div class="plot" id="chart-{chart.key}" style="height: {chart.height}px"></div>'
    return (f'<figure class="chart" data-chart="{chart.key}"><figcaption>{html.escape(chart.title)}</figcaption>'
            f"{body}</figure>")


def charts_json(charts: list[Chart]) -> str:
    """Each drawn chart's figure (data and layout) by element id, safe inside a <script> element."""
    figures = {f"chart-{c.key}": json.loads(pio.to_json(c.figure, validate=False))
               for c in charts if c.figure is not None}
    return json.dumps({"config": PLOT_CONFIG, "figures": figures}).replace("</", "<\\/")


# --- tables -------------------------------------------------------------------------------

def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "NaN"
    if isinstance(value, dt.datetime):
        return _utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _text(value: str) -> str:
    """Escaped, and breakable after "_" and "/": long names wrap in a narrow window, words stay whole."""
    return html.escape(value).replace("_", "_<wbr>").replace("/", "/<wbr>")


def _table(css: str, head: str, rows: str) -> str:
    """A table in a box that scrolls sideways if it must, rather than widening the page."""
    return f'<div class="table"><table class="{css}"><tr>{head}</tr>{rows}</table></div>'


def table(headers: list[str], rows: Iterable[Iterable[object]], css: str = "") -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = []
    for cells in rows:
        out = []
        for cell in cells:
            text = _fmt(cell)
            status = f' class="{text}"' if text in STATUS_CLASSES else ""
            out.append(f"<td{status}>{_text(text)}</td>")
        body.append(f"<tr>{''.join(out)}</tr>")
    return _table(css, head, "".join(body))


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


def _measured(detail: str | None) -> str:
    """The measured values of a Soda check, from its figure's detail: `OUTCOME {json}` (figures.py)."""
    _, _, text = (detail or "").partition(" ")
    try:
        measured = json.loads(text) if text else {}
    except ValueError:  # cut at 2,000 characters: the text as it is
        return text
    if not isinstance(measured, dict):
        return _fmt(measured)
    return ", ".join(f"{key} = {_fmt(float(v) if isinstance(v, int) else v)}" for key, v in measured.items())


def _outcome_cell(row: dict | None, measured: bool) -> str:
    if row is None:
        return '<td class="absent">—</td>'
    outcome = _soda_outcome(row)
    extra = _measured(row["detail"]) if measured else (row["detail"] or "").partition(": ")[2]
    note = f'<div class="measured">{_text(extra)}</div>' if extra else ""
    return f'<td><span class="soda {outcome.lower()}">{_text(outcome)}</span>{note}</td>'


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
    head = "".join(f'<th>{html.escape(_utc(run["started_at"]).strftime("%Y-%m-%d %H:%M"))}<br>'
                   f'<span class="run-id">{_text(run["run_id"])}</span> '
                   f'<span class="{html.escape(run["status"])}">{html.escape(run["status"])}</span></th>'
                   for run in runs)
    for metric, kind in (("contract_passed", "contract"), ("check_passed", "check")):
        cells: dict[str, dict[str, dict]] = defaultdict(dict)
        for run in runs:
            for row in ledger.figures[run["run_id"]]:
                if row["metric"] == metric:
                    cells[row["subject"]][run["run_id"]] = row

        def order(subject: str, cells: dict[str, dict[str, dict]] = cells) -> tuple:
            outcomes = [SEVERITY.get(_soda_outcome(cells[subject][run["run_id"]]), 2) if run["run_id"] in
                        cells[subject] else 4 for run in runs]
            return (min(outcomes), outcomes[0], subject)

        rows = []
        for subject in sorted(cells, key=order):
            contract, _, check = subject.partition(" · ")
            names = f"<td>{_text(contract)}</td>" + (f"<td>{_text(check)}</td>" if kind == "check" else "")
            rows.append(f"<tr>{names}"
                        + "".join(_outcome_cell(cells[subject].get(run["run_id"]), kind == "check") for run in runs)
                        + "</tr>")
        headers = "<th>contract</th>" + ("<th>check (column: name)</th>" if kind == "check" else "")
        title = "Contracts" if kind == "contract" else "Checks: outcome and measured value"
        parts.append(f"<h3>{title}</h3>")
        parts.append(_table(f"soda-{kind}s", headers + head, "".join(rows))
                     if rows else empty(f"no Soda {kind} recorded"))
    return "".join(parts)


def status_html(ledger: Ledger) -> str:
    if not ledger.runs:
        return '<p id="status">no run recorded yet: make run</p>'
    last = ledger.runs[-1]
    seconds = None if last["duration_s"] is None else f"{_fmt(_seconds(last['duration_s']))} s"  # running: none yet
    text = " · ".join(_fmt(v) for v in (last["run_id"], last["environment"], last["status"], seconds, last["error"])
                      if v)
    return f'<p id="status" class="{html.escape(last["status"])}">{html.escape(text)}</p>'


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
