"""The health report opens in headless Chromium (Debian's `chromium`, which `make test`
installs) without console errors, and its charts render.

The ledger is filled with synthetic runs (fast, and every chart has data); the report of
a real run is covered by tests/test_ops_run.py. A page with a script error goes through
the same checks to prove they catch one.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import psycopg
import pytest

from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from orchestrate.report import write_report
from orchestrate.roles import prepare_warehouse
from tests.conftest import connect, recreate_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DATABASE = "ops_report"
CHARTS = ["chart-volumes", "chart-durations", "chart-checks", "chart-freshness", "chart-model", "chart-coverage"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: make test installs it")


def chromium(tmp_path: Path, page: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1400,2200",
         "--virtual-time-budget=3000", *mode, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )


def console_messages(stderr: str) -> list[str]:
    # Chromium logs every console message and uncaught exception as ":CONSOLE(" / ":CONSOLE:".
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


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


def fill_ledger(connection: psycopg.Connection) -> None:
    connection.execute("drop schema if exists ops cascade")
    prepare_warehouse(connection)
    start = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    for day in range(10):
        run_id = f"run-{day:02d}"
        started = start + dt.timedelta(days=day)
        failed = day == 7
        connection.execute(
            "insert into ops.pipeline_runs values (%s, 'daily', 'dev', 'host', %s, %s, %s, %s, %s, %s, null)",
            (run_id, started, started + dt.timedelta(seconds=150 + day), 150 + day,
             "failed" if failed else "success", "soda_verify_all" if failed else None,
             "soda:verify-all exited with code 1" if failed else None),
        )
        for index, step in enumerate(["extract_load", "dbt_build", "soda_verify_all", "recommender_run"], 1):
            connection.execute(
                "insert into ops.pipeline_steps values (%s, %s, %s, %s, %s, %s, %s, %s, %s, null)",
                (run_id, index, step, step, started, started, 10.0 * index + day, "success", 0),
            )
        figures = [
            ("warehouse", "raw.tracks", "rows", 1000 + 20 * day, None),
            ("warehouse", "raw.users", "rows", 1000 + 10 * day, None),
            ("warehouse", "raw.listen_history", "rows", 1000 + 10 * day, None),
            ("warehouse", "raw.tracks", "latest_loaded_at", started.timestamp() - 60, None),
            ("warehouse", "raw.tracks", "latest_updated_at", started.timestamp() - 7200, None),
            ("dbt_build", "dbt", "tests_pass", 45, None),
            ("soda_verify_all", "raw/tracks · Row count", "check_passed", 0.0 if failed else 1.0, "FAILED"),
            ("soda_verify_all", "raw/tracks · Schema", "check_passed", 0.5, "WARN"),
            ("recommender_run", "model", "ndcg_at_10", 0.19 + day / 1000, None),
            ("recommender_run", "model", "popularity_ndcg_at_10", 0.04, None),
            ("recommender_run", "model", "champion_ndcg_at_10", 0.19, None),
            ("recommender_run", "model", "coverage", 0.4, None),
        ]
        connection.cursor().executemany(
            "insert into ops.pipeline_figures values (%s, %s, %s, %s, %s, %s)",
            [(run_id, *figure) for figure in figures],
        )
        connection.execute(
            "insert into ops.pipeline_health values (%s, 'users_scored_ratio', 'model', 1, 0.99, false, 'all')",
            (run_id,),
        )


@pytest.fixture(scope="module")
def report(postgres_server: LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    recreate_database(postgres_server, DATABASE)
    with connect(postgres_server, DATABASE) as connection:
        fill_ledger(connection)
        return write_report(connection, tmp_path_factory.mktemp("report") / "health.html")


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no CDN, no remote asset
    assert "<script>" in page and "/*SCRIPT*/" not in page and "/*DATA*/" not in page


def test_report_renders_in_chromium_without_console_errors(report: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, report, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    assert 'data-rendered="yes"' in dom.stdout
    for chart in CHARTS:
        svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', dom.stdout, re.S)
        assert svg, f"{chart} not drawn"
        assert 'class="series"' in svg[0], f"{chart} has no data series"
    assert "soda:verify-all exited with code 1" in dom.stdout  # the runs table
    screenshot = tmp_path / "report.png"
    shot = chromium(tmp_path, report, f"--screenshot={screenshot}")
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000
    assert png_colours(screenshot) > 50


def test_the_checks_catch_a_broken_page(report: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text().replace("render();", "render(); undefinedFunction();"))
    dom = chromium(tmp_path, broken, "--dump-dom")
    assert any("undefinedFunction" in message for message in console_messages(dom.stderr))
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body></body></html>")
    shot = tmp_path / "blank.png"
    chromium(tmp_path, blank, f"--screenshot={shot}")
    assert png_colours(shot) <= 50


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
