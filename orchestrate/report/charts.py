"""What every chart of the page shares: its place in the page, its look, its time axis."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio

CHART_HEIGHT = 420
PLOT_CONFIG = {"responsive": True, "displaylogo": False}


def present(values: Iterable[float | None]) -> bool:
    """Whether a series has anything to draw."""
    return any(value is not None for value in values)


@dataclass
class Chart:
    key: str  # the page's element ids: figure chart-<key>
    title: str
    figure: go.Figure | None  # None: no data yet
    height: int = CHART_HEIGHT


def base(figure: go.Figure, rows: int = 1, hovermode: str = "x unified") -> go.Figure:
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


def layout(figure: go.Figure, x: list[str], y_title: str, rows: int = 1, x_title: str = "run start (UTC)",
           hoverformat: str = "%Y-%m-%d %H:%M UTC", **yaxis: object) -> go.Figure:
    """A chart over time: dates on x (these x values: runs or load days), the legend below."""
    base(figure, rows)
    figure.update_xaxes(type="date", hoverformat=hoverformat, automargin=True)
    if len(set(x)) == 1:  # one run or day: a day either side, not plotly's milliseconds around it
        only = dt.datetime.fromisoformat(x[0])
        figure.update_xaxes(range=[str(only - dt.timedelta(days=1)), str(only + dt.timedelta(days=1))])
    bottom = figure.layout[f"xaxis{rows}" if rows > 1 else "xaxis"]  # the lowest plot's axis carries the title
    bottom.title = {"text": x_title}
    figure.update_yaxes(title={"text": y_title}, rangemode="tozero", automargin=True, **yaxis)
    return figure


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
