"""The data section: what the model learns from, drawn from the dbt profile marts."""

from __future__ import annotations

import datetime as dt
import html

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from orchestrate.report.charts import Chart, base, chart_html, layout, present
from orchestrate.report.data import TOP
from orchestrate.report.published_charts import genre_mix_chart, publications_chart
from orchestrate.report.tables import empty

LABEL_CHARS = 28  # a longer genre or artist name is shortened on its chart's axis
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
    layout(figure, x, "listens", **DAY_AXIS)
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
    figure = go.Figure([trace for trace in (share, catalogued) if present(trace.y)])
    if not figure.data:
        return Chart("favourite", FAVOURITE_TITLE, None)
    return Chart("favourite", FAVOURITE_TITLE,
                 layout(figure, x, "share of the day's listens", tickformat=".0%", **DAY_AXIS))


def _bars(figure: go.Figure, x_title: str, y_title: str, horizontal: bool = False) -> go.Figure:
    """A chart of categories: bars, the categories' axis as the data gives them (top first)."""
    base(figure, hovermode="closest")
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
                 layout(go.Figure([t for t in traces if present(t.y)]), x, "new ids", **DAY_AXIS))


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
        publications_chart(profile.get("published")),
        genre_mix_chart(profile.get("published_genres")),
    ]


def data_html(profile: dict[str, list[dict] | None], charts: list[Chart]) -> str:
    return ('<section class="question" id="data"><h2>The data: what the model learns from</h2>'
            '<p class="note">From the dbt profile marts (marts.profile_daily_listens, profile_daily_genre_listens,'
            " profile_artist_listens, profile_history_lengths, daily_volumes), each built incrementally by the"
            " run's dbt_postgres_build; the published lists' by its last step, dbt_postgres_profile_published"
            " (marts.profile_published_lists, profile_published_genres).</p>"
            f'{profile_headline(profile.get("daily"))}'
            f'<div class="charts">{"".join(chart_html(c) for c in charts)}</div></section>')
