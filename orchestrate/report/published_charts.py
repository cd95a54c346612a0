"""The lists the recommender published, profiled by dbt after each publication
(marts.profile_published_lists, profile_published_genres): how much of the catalogue they
use, how many users got a cold-start list, and whether their genre mix follows the users' own."""

from __future__ import annotations

import plotly.graph_objects as go

from orchestrate.report.charts import Chart, base, layout

PUBLICATIONS_TITLE = "Published lists: catalogue coverage and cold-start share, per publication"
GENRES_TITLE = "Genre mix of the last published lists against the users' own listens"


def _moment(row: dict) -> str:
    return row["generated_at"].isoformat() if hasattr(row["generated_at"], "isoformat") else str(row["generated_at"])


def publications_chart(publications: list[dict] | None) -> Chart:
    if not publications:
        return Chart("published", PUBLICATIONS_TITLE, None)
    x = [_moment(row) for row in publications]
    details = [[row["model_version"], row["tracks_recommended"], row["catalogue_tracks"], row["cold_start_users"],
                row["users_with_lists"]] for row in publications]
    coverage = go.Scatter(
        x=x, y=[row["catalogue_coverage"] for row in publications], name="catalogue coverage",
        mode="lines+markers", line={"width": 3, "color": "#17becf"}, customdata=details,
        hovertemplate="%{y:.1%} (%{customdata[1]:,} of %{customdata[2]:,} tracks; version %{customdata[0]})")
    cold_start = go.Scatter(
        x=x, y=[row["cold_start_share"] for row in publications], name="cold-start share of the users",
        mode="lines+markers", line={"dash": "dot", "color": "#9467bd"}, customdata=details,
        hovertemplate="%{y:.1%} (%{customdata[3]:,} of %{customdata[4]:,} users)")
    figure = layout(go.Figure([coverage, cold_start]), x, "share", x_title="publication (UTC)", tickformat=".0%")
    return Chart("published", PUBLICATIONS_TITLE, figure)


def genre_mix_chart(genres: list[dict] | None) -> Chart:
    if not genres:
        return Chart("published-genres", GENRES_TITLE, None)
    names = [str(row["genre"]) for row in genres]
    listened = go.Bar(y=names, x=[row["listen_share"] for row in genres], orientation="h",
                      name="share of the users' listens", marker_color="#8a93a3",
                      customdata=[row["listens"] for row in genres],
                      hovertemplate="%{y}: %{x:.1%} of the listens (%{customdata:,})<extra></extra>")
    recommended = go.Bar(y=names, x=[row["recommended_share"] for row in genres], orientation="h",
                         name="share of the recommended slots", marker_color="#17becf",
                         customdata=[row["recommended_slots"] for row in genres],
                         hovertemplate="%{y}: %{x:.1%} of the slots (%{customdata:,})<extra></extra>")
    # Genres down the side, the most listened first: any number of names stays readable.
    figure = base(go.Figure([listened, recommended]), hovermode="closest")
    figure.update_layout(barmode="group", margin_t=34)
    figure.update_xaxes(title={"text": "share"}, tickformat=".0%", rangemode="tozero", automargin=True)
    figure.update_yaxes(type="category", autorange="reversed", title={"text": "genre"}, automargin=True)
    return Chart("published-genres", GENRES_TITLE, figure, 120 + 40 * len(names))
