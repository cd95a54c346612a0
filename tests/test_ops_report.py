"""The health report in a real browser: Debian's headless Chromium through chromium-driver
(Selenium, tests/browser.py; `make test` installs both as root), at a 1400 px wide window
and a narrow 800 px one.

Each chart must draw its marks and its legend with every series name whole, and no text
(legend entries, titles, axis labels, table cells) may be clipped by its container or
overlap another label; the page must raise no console error with every host name
unresolvable (nothing fetched at view time). The ledger is filled with synthetic runs and the
dbt profile marts (marts.profile_*, marts.daily_volumes) with synthetic days (fast, and every
chart has data); a warehouse without those marts gets "no data yet" in the data section. The
report of a real run is covered by tests/test_ops_run.py.
Pages broken on purpose go through the same checks to prove they catch what they look for.
The tests that need no browser (a self-contained page, `make report`, a warehouse no run has
prepared) run without Chromium; the others are skipped, saying why.
Screenshots of both widths are kept under the test's tmp_path and copied to /tmp/report-shots/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from orchestrate.report import write_report
from orchestrate.roles import prepare_warehouse
from tests import browser
from tests.conftest import connect, recreate_database

DATABASE = "ops_report"
SHOTS = Path("/tmp/report-shots")
WIDTHS = (1400, 800)
CHARTS = ["chart-durations", "chart-freshness", "chart-volumes", "chart-rejected", "chart-quality", "chart-model",
          "chart-users"]
# The data section's charts, from the dbt profile marts; those over load days have a date axis.
DATA_CHARTS = ["chart-listens", "chart-favourite", "chart-history", "chart-arrivals", "chart-genres", "chart-artists",
               "chart-published", "chart-published-genres"]
DAY_CHARTS = {"chart-listens", "chart-favourite", "chart-arrivals", "chart-published"}
PROFILE_DAYS = 10
# 12 genres and 14 artists: the top-10 cut leaves the last ones out. Listens fall with the index.
GENRES = ["Rock", "Pop", "Jazz", "Hip-Hop", "Classical", "Electronic", "Folk", "Reggae", "Blues", "Country",
          "Metal", "Soul"]
ARTISTS = ["Orchestre Philharmonique de la Radio Nationale (Live Recordings)", *(f"Artist {n:02d}" for n in range(13))]
HISTORY_LABELS = ["0\u20139", "10\u201324", "25\u201349", "50\u201399", "100\u2013199", "200+"]
# The job's steps, long names included (the old hand-drawn legend cut "soda_verify_all" to "soda_ve…").
STEPS = ["bookmark_guard", "tap_moovitamix_target_postgres", "dbt_postgres_freshness", "dbt_postgres_build",
         "soda_verify_all", "recommender_run"]
SOURCES = ["raw.tracks", "raw.users", "raw.listen_history"]
FRESHNESS = [f"{source}: since last {what}" for source in sorted(SOURCES) for what in ("load", "update")]
FAILED_DAY, FAILED_EARLY_DAY = 7, 4  # the Soda gate failed; the extract failed (no step after it)


def png_colours(path: Path) -> int:
    """Distinct byte values of the decoded image: 1-2 for a blank page, many for charts."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    idat, position = b"", 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(idat)))


def soda(outcome: str, measured: dict) -> tuple[float | None, str]:
    """A Soda check's value and detail as orchestrate/figures.py stores them."""
    value = {"PASSED": 1.0, "WARN": 0.5, "FAILED": 0.0}.get(outcome)
    return value, f"{outcome} {json.dumps(measured)}"


def fill_ledger(connection: psycopg.Connection, days: int = 10, failed_day: int | None = FAILED_DAY,
                failed_early_day: int | None = FAILED_EARLY_DAY) -> None:
    connection.execute("drop schema if exists ops cascade")
    prepare_warehouse(connection)
    start = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    for day in range(days):
        run_id = f"run-{day:02d}"
        started = start + dt.timedelta(days=day)
        failed, early = day == failed_day, day == failed_early_day
        failed_step = "soda_verify_all" if failed else STEPS[1] if early else None
        ran = STEPS[: STEPS.index(failed_step) + 1] if failed_step else STEPS
        duration = 40.0 if early else 150.0 + day
        connection.execute(
            "insert into ops.pipeline_runs values (%s, 'daily', 'dev', 'host', %s, %s, %s, %s, %s, %s, null)",
            (run_id, started, started + dt.timedelta(seconds=duration), duration,
             "failed" if failed_step else "success", failed_step,
             f"{failed_step} exited with code 1" if failed_step else None),
        )
        for index, step in enumerate(ran, 1):
            status = "failed" if step == failed_step else "success"
            connection.execute(
                "insert into ops.pipeline_steps values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, index, step, step, started, started, 5.0 * index + day, status,
                 1 if status == "failed" else 0, "exited with code 1" if status == "failed" else None),
            )
        figures: list[tuple[str, str, str, float | None, str | None]] = []
        for source in SOURCES:
            figures += [
                ("warehouse", source, "rows", 1000 + 20 * day + len(source), None),
                ("warehouse", source, "latest_loaded_at", started.timestamp() - 60 * (1 + len(source)), None),
                ("warehouse", source, "latest_updated_at", started.timestamp() - 3600 * (2 + len(source)), None),
                ("dbt_postgres_freshness", source, "freshness_warn_after_hours", 26.0, None),
            ]
        # The tap's own counts (its side stream of rejects included), then raw.rejected_records of the run.
        rejects = 0 if early else day % 3  # listen_history's; the other streams reject none
        for stream in ["listen_history"] if early else ["tracks", "users", "listen_history"]:
            figures.append((STEPS[1], stream, "records_read", 500 if early else 1000, None))
            figures.append((STEPS[1], stream, "rejected", rejects if stream == "listen_history" else 0, None))
        figures.append((STEPS[1], "rejected_records", "records_read", rejects, None))
        if rejects:
            figures.append((STEPS[1], "listen_history", "rejected_records", rejects, None))
        if not early:
            figures += [
                ("dbt_postgres_build", "dbt", "tests_pass", 45 - (day == 5), None),
                ("dbt_postgres_build", "dbt", "tests_warn", float(day == 5), None),
            ]
            checks = {
                "raw/tracks · Row count": soda("FAILED" if failed else "PASSED", {"row_count": 0 if failed else 1000}),
                "raw/tracks · track_id: No missing values": soda("PASSED", {"missing_count": 0}),
                "raw/users · Schema": soda("WARN", {"schema_events_count": 1}),
                "raw/listen_history · New rejected records": soda("PASSED", {"rejected_count": day % 3}),
                "raw/listen_history · Freshness": soda("NOT_EVALUATED", {}),
            }
            figures += [("soda_verify_all", name, "check_passed", *check) for name, check in checks.items()]
            figures += [
                ("soda_verify_all", "raw/tracks", "contract_passed", 0.0 if failed else 1.0,
                 "FAILED" if failed else "PASSED"),
                ("soda_verify_all", "raw/users", "contract_passed", 1.0, "PASSED_WITH_WARNINGS"),
                ("soda_verify_all", "raw/listen_history", "contract_passed", 1.0, "PASSED"),
            ]
        if day >= 3:  # after 3 runs the supervisor sets a duration limit
            connection.execute(
                "insert into ops.pipeline_health values (%s, 'duration_s', '(end to end)', %s, 240, false, 'ok')",
                (run_id, duration),
            )
        if not failed_step:  # the recommender's own row of the run, where the report reads its model
            connection.execute(
                "insert into ml.training_runs (run_id, started_at, decision, reason, model_version, ndcg_at_10,"
                " popularity_ndcg_at_10, champion_ndcg_at_10, coverage)"
                " values (%s, %s, 'promoted', 'above the champion', %s, %s, 0.04, 0.19, 0.4)",
                (run_id, started, str(day), 0.19 + day / 1000),
            )
            connection.execute(
                "insert into ops.pipeline_health values"
                " (%s, 'users_scored_ratio', 'model', 1, 0.99, false, 'all'),"
                " (%s, 'coverage', 'model', 0.4, 0.05, false, 'recommendations cover 40 %% of the catalogue')",
                (run_id, run_id),
            )
        connection.cursor().executemany(
            "insert into ops.pipeline_figures values (%s, %s, %s, %s, %s, %s)",
            [(run_id, *figure) for figure in figures],
        )


PROFILE_TABLES = {
    "profile_daily_listens": "load_date date primary key, listens bigint not null, listeners bigint not null,"
                             " catalogued_listens bigint not null, favourite_genre_listens bigint not null,"
                             " counted_through timestamptz not null",
    "profile_daily_genre_listens": "load_date date not null, genre text not null, listens bigint not null,"
                                   " counted_through timestamptz not null, primary key (load_date, genre)",
    "profile_artist_listens": "artist text primary key, listens bigint not null, counted_through timestamptz not null",
    "profile_history_lengths": "min_length integer primary key, max_length integer, users bigint not null",
    "daily_volumes": "load_date date not null, entity text not null, row_count bigint not null,"
                     " new_count bigint not null, updated_count bigint not null, conflicting_count bigint not null,"
                     " primary key (load_date, entity)",
    "profile_published_lists": "generated_at timestamptz primary key, model_version text not null,"
                               " users_with_lists bigint not null, tracks_recommended bigint not null,"
                               " catalogue_tracks bigint not null, catalogue_coverage double precision not null,"
                               " cold_start_users bigint not null, cold_start_share double precision not null",
    "profile_published_genres": "generated_at timestamptz not null, genre text not null,"
                                " recommended_slots bigint not null, recommended_share double precision not null,"
                                " listens bigint, listen_share double precision, primary key (generated_at, genre)",
}
PUBLICATIONS = 3  # one publication a day, the last three days


def fill_profile(connection: psycopg.Connection, days: int = PROFILE_DAYS) -> None:
    """The dbt profile marts as dbt leaves them (transform/models/marts/profile/, daily_volumes)."""
    connection.execute("create schema if not exists marts")
    for name, columns in PROFILE_TABLES.items():
        connection.execute(f"drop table if exists marts.{name}")
        connection.execute(f"create table marts.{name} ({columns})")
    first = dt.date(2026, 11, 1)
    counted_through = dt.datetime(2026, 11, days, 6, tzinfo=dt.UTC)
    cursor = connection.cursor()
    cursor.executemany(
        "insert into marts.profile_daily_listens values (%s, %s, %s, %s, %s, %s)",
        [(first + dt.timedelta(days=day), 10_000 + 500 * day, 800 + 10 * day, 9_500 + 450 * day,
          3_000 + 300 * day, counted_through) for day in range(days)])
    cursor.executemany(
        "insert into marts.profile_daily_genre_listens values (%s, %s, %s, %s)",
        [(first + dt.timedelta(days=day), genre, 1_000 - 70 * rank + day, counted_through)
         for day in range(days) for rank, genre in enumerate(GENRES)])
    cursor.executemany(
        "insert into marts.profile_artist_listens values (%s, %s, %s)",
        [(artist, 5_000 - 300 * rank, counted_through) for rank, artist in enumerate(ARTISTS)])
    cursor.executemany(
        "insert into marts.profile_history_lengths values (%s, %s, %s)",
        [(0, 9, 120), (10, 24, 340), (25, 49, 410), (50, 99, 95), (100, 199, 0), (200, None, 12)])
    volumes = []
    for day in range(days):
        for entity, new in (("tracks", 200 - 15 * day), ("users", 80 + 3 * day), ("listen_history", 60)):
            volumes.append((first + dt.timedelta(days=day), entity, 1_000 + 100 * day, new, day % 4, 0))
    cursor.executemany("insert into marts.daily_volumes values (%s, %s, %s, %s, %s, %s)", volumes)
    published = [dt.datetime(2026, 11, days - PUBLICATIONS + 1 + n, 6, 30, tzinfo=dt.UTC) for n in range(PUBLICATIONS)]
    cursor.executemany(
        "insert into marts.profile_published_lists values (%s, %s, %s, %s, %s, %s, %s, %s)",
        [(moment, str(n + 1), 1_000, 300 + 50 * n, 1_000, (300 + 50 * n) / 1_000, 100 - 10 * n, (100 - 10 * n) / 1_000)
         for n, moment in enumerate(published)])
    cursor.executemany(
        "insert into marts.profile_published_genres values (%s, %s, %s, %s, %s, %s)",
        [(moment, genre, 1_000 - 50 * rank, (1_000 - 50 * rank) / 10_000, 700 - 40 * rank, (700 - 40 * rank) / 7_000)
         for moment in published for rank, genre in enumerate(GENRES[:4])])


def make_report(server: LocalPostgres, directory: Path, database: str, profile: bool = True,
                **ledger: object) -> Path:
    recreate_database(server, database)
    with connect(server, database) as connection:
        if ledger.pop("empty", False):
            connection.execute("drop schema if exists ops cascade")  # a warehouse no run has written to
        else:
            fill_ledger(connection, **ledger)  # type: ignore[arg-type]
            if profile:
                fill_profile(connection)
        return write_report(connection, directory / "health.html")


@pytest.fixture(scope="module")
def report(postgres_server: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report(postgres_server, tmp_path_factory.mktemp("report"), DATABASE)


@pytest.fixture(scope="module")
def driver() -> Iterator[browser.WebDriver]:
    """The browser; a test that needs it is skipped, saying why, without Chromium and its driver."""
    if browser.missing() is not None:
        pytest.skip(browser.missing())
    with browser.chromium(WIDTHS[0]) as chromium:
        yield chromium


def keep(shot: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text()
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", page, flags=re.S)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup)  # no CDN, no remote asset
    assert "<script src" not in markup and "<link" not in markup
    assert page.count("plotly.js v") == 1  # the library once, inline, not once per chart
    assert not re.search(r"\$\{(style|scripts|generated_at|status|questions|data|last_run|runs)\}", page)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_chart_draws_its_marks_and_whole_legend_without_clipping(
        report: Path, driver: browser.WebDriver, tmp_path: Path, width: int) -> None:
    browser.open_page(driver, report, width)
    assert browser.console_errors(driver) == []
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert [url for url in fetched if not url.startswith(("file:", "data:", "blob:"))] == []
    found = browser.layout(driver)
    assert abs(found["width"] - width) < 40
    assert found["problems"] == []
    charts = found["charts"]
    assert sorted(charts) == sorted(CHARTS + DATA_CHARTS)
    for chart, drawn in charts.items():
        assert drawn["legend"] == drawn["series"], chart  # every series in the legend, each name whole
        assert len(drawn["marks"]) == drawn["traces"] and all(drawn["marks"]), f"{chart} drew no mark: {drawn}"
        if chart in CHARTS or chart in DAY_CHARTS:
            assert drawn["x_type"] == "date" and any(re.search(r"Nov|2026", t) for t in drawn["x_ticks"]), drawn
    assert charts["chart-durations"]["legend"][:7] == ["end to end", *STEPS]
    assert charts["chart-durations"]["legend"][7:] == ["failed step", "end-to-end limit (OPS_DURATION_FACTOR x p95)"]
    assert charts["chart-freshness"]["legend"][:6] == FRESHNESS
    assert charts["chart-volumes"]["legend"] == sorted(SOURCES)
    assert charts["chart-rejected"]["legend"] == ["listen_history", "tracks", "users"]
    assert charts["chart-quality"]["legend"] == ["passed", "warned", "failed", "error / not evaluated"]
    assert charts["chart-model"]["legend"] == ["model NDCG@10", "champion NDCG@10", "popularity baseline NDCG@10"]
    assert charts["chart-users"]["legend"][:2] == ["users scored / users", "catalogue coverage"]
    # The data section, after the pipeline's charts.
    assert charts["chart-listens"]["legend"] == ["listens", "listens of catalogued tracks", "listeners (right axis)"]
    assert charts["chart-favourite"]["legend"][0] == "favourite-genre listens / listens"
    assert charts["chart-favourite"]["y_ticks"][-1].endswith("%")
    assert charts["chart-arrivals"]["legend"] == ["new users", "new tracks"]
    assert charts["chart-published"]["legend"] == ["catalogue coverage", "cold-start share of the users"]
    assert charts["chart-published-genres"]["legend"] == ["share of the users' listens",
                                                          "share of the recommended slots"]
    assert charts["chart-history"]["x_type"] == "category" and charts["chart-history"]["x_ticks"] == HISTORY_LABELS
    assert charts["chart-genres"]["y_ticks"] == GENRES[:10]  # the top 10, the most listened first
    artists = charts["chart-artists"]["y_ticks"]
    assert len(artists) == 10 and artists[1:] == ARTISTS[1:10]
    assert artists[0].endswith("\u2026") and ARTISTS[0].startswith(artists[0][:-1])  # shortened on the axis only
    order = driver.execute_script(
        "return [...document.querySelectorAll('section')].map((s) => s.id)")
    assert order.index("data") == order.index("served") + 1
    shot = browser.screenshot(driver, tmp_path / f"report-{width}px.png")
    keep(shot)
    assert png_colours(shot) > 50


def test_a_run_that_failed_early_leaves_gaps_not_zeros(report: Path, driver: browser.WebDriver) -> None:
    browser.open_page(driver, report, WIDTHS[0])
    values = driver.execute_script(
        "const y = (id, name) => document.getElementById(id).data.find((t) => t.name === name).y;"
        "return {recommender: y('chart-durations', 'recommender_run'), tap: y('chart-durations', arguments[0]),"
        " model: y('chart-model', 'model NDCG@10'), rejected: y('chart-rejected', 'listen_history'),"
        " decisions: document.getElementById('chart-model').data[0].customdata,"
        " coverage: y('chart-users', 'catalogue coverage')};", STEPS[1])
    assert values["recommender"][FAILED_EARLY_DAY] is None and values["recommender"][FAILED_DAY] is None
    assert values["tap"][FAILED_EARLY_DAY] is not None
    assert values["model"][FAILED_EARLY_DAY] is None and values["model"][9] == pytest.approx(0.199)
    assert values["decisions"][9] == "promoted · above the champion" and values["decisions"][FAILED_EARLY_DAY] == ""
    assert values["coverage"][FAILED_EARLY_DAY] is None and values["coverage"][9] == pytest.approx(0.4)
    assert values["rejected"][FAILED_EARLY_DAY] == 0  # read, nothing rejected
    assert values["rejected"][2] == 2


def test_the_charts_have_tooltips_and_zoom(report: Path, driver: browser.WebDriver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.open_page(driver, report, WIDTHS[0])
    chart = driver.find_element(By.ID, "chart-durations")
    point = chart.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace:first-child .points path")[-1]
    ActionChains(driver).move_to_element(point).perform()
    hover = driver.execute_script("return arguments[0].querySelector('.hoverlayer').textContent", chart)
    assert "recommender_run" in hover and " s" in hover and "run-09" in hover, hover
    area = chart.find_element(By.CSS_SELECTOR, ".nsewdrag")
    before = driver.execute_script("return arguments[0]._fullLayout.xaxis.range.slice()", chart)
    ActionChains(driver).move_to_element_with_offset(area, -area.size["width"] // 4, 0).click_and_hold() \
        .move_by_offset(area.size["width"] // 3, 0).release().perform()
    after = driver.execute_script("return arguments[0]._fullLayout.xaxis.range.slice()", chart)
    assert after != before  # zoomed in on the runs


def test_the_data_section_reads_the_profile(report: Path, driver: browser.WebDriver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.open_page(driver, report, WIDTHS[0])
    last = PROFILE_DAYS - 1
    headline = driver.find_element(By.ID, "data-headline").text
    share = (3_000 + 300 * last) / (10_000 + 500 * last)
    assert f"Last load day 2026-11-{PROFILE_DAYS:02d}: {10_000 + 500 * last:,} listens" in headline, headline
    assert f"{share:.1%} of them in the listener's favourite genre" in headline, headline
    values = driver.execute_script(
        "const trace = (id, i) => document.getElementById(id).data[i];"
        "return {share: trace('chart-favourite', 0).y, days: trace('chart-listens', 0).x,"
        " users: trace('chart-arrivals', 0).y, genres: trace('chart-genres', 0).x,"
        " history: trace('chart-history', 0).y, coverage: trace('chart-published', 0).y,"
        " cold: trace('chart-published', 1).y, mix: trace('chart-published-genres', 1).x,"
        " mix_genres: trace('chart-published-genres', 1).y};")
    assert values["share"][-1] == pytest.approx(share)
    assert values["days"][0] == "2026-11-01" and len(values["days"]) == PROFILE_DAYS
    assert values["users"] == [80 + 3 * day for day in range(PROFILE_DAYS)]  # daily_volumes' new_count
    assert values["genres"][0] == sum(1_000 + day for day in range(PROFILE_DAYS))  # summed over the days
    assert values["history"] == [120, 340, 410, 95, 0, 12]
    assert values["coverage"] == pytest.approx([0.3, 0.35, 0.4])  # one point per publication
    assert values["cold"] == pytest.approx([0.1, 0.09, 0.08])
    assert values["mix_genres"] == GENRES[:4]  # the last publication, the most listened genre first
    assert values["mix"] == pytest.approx([(1_000 - 50 * rank) / 10_000 for rank in range(4)])
    chart = driver.find_element(By.ID, "chart-favourite")
    point = chart.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace:first-child .points path")[-1]
    ActionChains(driver).move_to_element(point).perform()
    hover = driver.execute_script("return arguments[0].querySelector('.hoverlayer').textContent", chart)
    assert f"{share:.1%}" in hover and "listens" in hover, hover
    chart = driver.find_element(By.ID, "chart-artists")
    bar = chart.find_elements(By.CSS_SELECTOR, ".barlayer .point path")[0]
    ActionChains(driver).move_to_element(bar).perform()
    hover = driver.execute_script("return arguments[0].querySelector('.hoverlayer').textContent", chart)
    assert ARTISTS[0] in hover and "of all" in hover, hover  # the whole name in the tooltip


def test_the_soda_section_lists_each_check_failures_first(report: Path, driver: browser.WebDriver) -> None:
    browser.open_page(driver, report, WIDTHS[0])
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#soda table.soda-checks tr')].slice(1)"
        ".map((row) => [...row.cells].map((cell) => cell.innerText.trim()))")
    headers = driver.execute_script(
        "return [...document.querySelectorAll('#soda table.soda-checks th')].map((th) => th.innerText)")
    assert len(headers) == 2 + 5 and "run-09" in headers[2] and "run-08" in headers[3]  # newest first
    assert "run-04" not in " ".join(headers)  # failed before Soda: no column
    names = [f"{row[0]} · {row[1]}" for row in rows]
    assert names[0] == "raw/tracks · Row count"  # failed in run-07: first
    assert names[1] == "raw/users · Schema"  # warned
    assert len(names) == 5
    failed = rows[0][next(i for i, h in enumerate(headers) if "run-07" in h)]
    assert failed.startswith("FAILED") and "row_count = 0" in failed
    assert rows[0][2].startswith("PASSED") and "row_count = 1000" in rows[0][2]
    contracts = driver.execute_script(
        "return [...document.querySelectorAll('#soda table.soda-contracts tr')].slice(1)"
        ".map((row) => row.cells[0].innerText)")
    assert contracts[0] == "raw/tracks"


def test_the_tables_stay(report: Path, driver: browser.WebDriver) -> None:
    browser.open_page(driver, report, WIDTHS[1])
    text = driver.find_element("tag name", "body").text
    assert "soda_verify_all exited with code 1" in text  # the runs table
    assert "users_scored_ratio" in text  # the last run's thresholds
    assert "recommender_run" in driver.execute_script("return document.querySelector('#last-run table').innerText")


def test_the_checks_catch_a_broken_page(report: Path, driver: browser.WebDriver, tmp_path: Path) -> None:
    """The old report's faults, made on purpose: each check names them."""
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text().replace("</body>", "<script>undefinedFunction();</script></body>"))
    browser.open_page(driver, broken, WIDTHS[0])
    assert any("undefinedFunction" in message for message in browser.console_errors(driver))
    driver.execute_script("""
        const legend = document.querySelectorAll('#chart-durations .legendtext');
        legend[5].textContent = 'soda_ve…';                                     // a name cut short
        legend[2].closest('.traces').setAttribute('transform', 'translate(2000, 0)');  // out of the chart
        document.querySelectorAll('#chart-model .scatterlayer path').forEach((p) => p.remove());  // no marks
        const caption = document.querySelector('figure[data-chart="volumes"] figcaption');
        caption.style.whiteSpace = 'nowrap'; caption.style.overflow = 'hidden';
        caption.textContent = 'a caption far too long for its box '.repeat(20);
    """)
    found = browser.layout(driver)
    problems = "\n".join(found["problems"])
    assert f'chart-durations: text "{STEPS[1]}" clipped by its chart' in problems
    assert f'legend text "{STEPS[1]}" clipped by the legend' in problems
    assert 'figcaption "a caption far too long' in problems
    durations = found["charts"]["chart-durations"]
    assert durations["legend"] != durations["series"] and "soda_ve…" in durations["legend"]
    assert not all(found["charts"]["chart-model"]["marks"])


def test_an_empty_ledger_gives_a_page_that_says_so(postgres_server: LocalPostgres, driver: browser.WebDriver,
                                                   tmp_path: Path) -> None:
    page = make_report(postgres_server, tmp_path, "ops_report_empty", empty=True)
    assert "plotly.js v" not in page.read_text()  # nothing to draw: no library either
    for width in WIDTHS:
        browser.open_page(driver, page, width)
        assert browser.console_errors(driver) == []
        found = browser.layout(driver)
        assert found["problems"] == [] and found["charts"] == {}
        notes = driver.execute_script("return [...document.querySelectorAll('figure.chart .empty')].length")
        assert notes == len(CHARTS) + len(DATA_CHARTS)
        text = driver.find_element("tag name", "body").text
        assert "no run recorded yet: make run" in text and "no Soda results yet" in text
        assert "no data profile yet" in text


def test_a_warehouse_without_the_profile_marts(postgres_server: LocalPostgres, driver: browser.WebDriver,
                                              tmp_path: Path) -> None:
    """dbt has not built the profile yet (an older warehouse): daily_volumes only, and an older
    profile_history_lengths without max_length. The data section says "no data yet" per chart."""
    database = "ops_report_no_profile"
    recreate_database(postgres_server, database)
    with connect(postgres_server, database) as connection:
        fill_ledger(connection)
        fill_profile(connection)
        for name in ("profile_daily_listens", "profile_daily_genre_listens", "profile_artist_listens",
                     "profile_published_lists", "profile_published_genres"):
            connection.execute(f"drop table marts.{name}")
        connection.execute("alter table marts.profile_history_lengths drop column max_length")
        page = write_report(connection, tmp_path / "health.html")
    for width in WIDTHS:
        browser.open_page(driver, page, width)
        assert browser.console_errors(driver) == []
        found = browser.layout(driver)
        assert found["problems"] == []
        assert sorted(found["charts"]) == sorted([*CHARTS, "chart-arrivals"])
        assert all(all(chart["marks"]) for chart in found["charts"].values())
        empty = driver.execute_script(
            "return [...document.querySelectorAll('#data figure.chart')]"
            ".filter((f) => f.querySelector('.empty')).map((f) => f.dataset.chart)")
        assert empty == ["listens", "favourite", "history", "genres", "artists", "published", "published-genres"]
        assert all(text == "no data yet" for text in driver.execute_script(
            "return [...document.querySelectorAll('#data figure.chart .empty')].map((p) => p.innerText)"))
        assert "no data profile yet" in driver.find_element("id", "data").text


def test_a_last_run_that_failed_early(postgres_server: LocalPostgres, driver: browser.WebDriver,
                                      tmp_path: Path) -> None:
    page = make_report(postgres_server, tmp_path, "ops_report_early", days=3, failed_day=None, failed_early_day=2)
    browser.open_page(driver, page, WIDTHS[1])
    assert browser.console_errors(driver) == []
    found = browser.layout(driver)
    assert found["problems"] == []
    assert all(all(chart["marks"]) for chart in found["charts"].values())
    text = driver.find_element("tag name", "body").text
    assert "The last run, run-02 (failed), has no Soda results" in text
    steps = driver.execute_script("return document.querySelector('#last-run table').innerText")
    assert STEPS[1] in steps and "recommender_run" not in steps


def test_make_report_prints_the_path_last(postgres_server: LocalPostgres, report: Path, tmp_path: Path) -> None:
    target = tmp_path / "from-make.html"
    result = subprocess.run(
        ["make", "-s", "report", f"WAREHOUSE_DB={DATABASE}", f"WAREHOUSE_PORT={postgres_server.port}",
         f"REPORT_PATH={target}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(target)
    assert "run-09" in target.read_text()


def test_the_report_only_reads_a_warehouse_no_run_has_prepared(postgres_server: LocalPostgres,
                                                               tmp_path: Path) -> None:
    """`python -m orchestrate.report` on a bare database (no ops, ml or marts schema): the empty
    report, its path last, and the database left as it was (the report applies no migration)."""
    database = "ops_report_bare"
    with postgres_server.connect("postgres") as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    target = tmp_path / "bare.html"
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate.report"],
        env={**os.environ, "WAREHOUSE_DB": database, "WAREHOUSE_PORT": str(postgres_server.port),
             "REPORT_PATH": str(target)},
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(target)
    page = target.read_text()
    assert "no run recorded yet: make run" in page and "no Soda results yet" in page
    assert "no data profile yet" in page and "plotly.js v" not in page
    with postgres_server.connect(database) as connection:
        created = connection.execute(
            "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname not in"
            " ('public', 'information_schema')").fetchall()
    assert created == []
