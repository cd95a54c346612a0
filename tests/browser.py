"""A real browser for the health report's test: Debian's headless Chromium driven through
Debian's chromium-driver with Selenium, so that the test reads the page as laid out (the
bounding rectangles of the charts' SVG marks, legends, titles and axis labels).

`make chromium` installs both packages (as root). No network: the driver and the browser are
the system's (Selenium Manager is never asked to fetch one), and every host name resolves
to nothing, so a page that needed a CDN would show it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    absent = [package for package, path in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER))
              if not Path(path).exists()]
    if absent:
        return f"{' and '.join(absent)} missing: `make chromium` installs Debian's packages (as root)"
    return None


@contextmanager
def chromium(width: int, height: int = 1000) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: WebDriver, page: Path, width: int, height: int = 1000) -> None:
    """Load the page at this viewport width and wait until every chart has drawn."""
    driver.set_window_size(width, height)
    driver.get(page.as_uri())
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(
        "return document.readyState === 'complete'"
        " && (!document.getElementById('charts') || document.body.dataset.charts === 'drawn')"))


def console_errors(driver: WebDriver) -> list[str]:
    """The console's errors and uncaught exceptions since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: WebDriver, target: Path) -> Path:
    """The whole page (the window made as tall as the page), as PNG."""
    width = driver.execute_script("return window.outerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, height + 200)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.innerHeight") >= height)
    driver.save_screenshot(str(target))
    return target


# What the test reads from the laid-out page: per chart, its legend and its marks, and any
# text that its container clips or that overlaps another label.
LAYOUT = r"""
const slack = 1;
const rect = (node) => node.getBoundingClientRect();
const inside = (a, b) => a.left >= b.left - slack && a.right <= b.right + slack
  && a.top >= b.top - slack && a.bottom <= b.bottom + slack;
const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > slack
  && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > slack;
const shown = (node) => { const r = rect(node); return r.width > 0 && r.height > 0 && node.textContent.trim() !== ""
  && getComputedStyle(node).display !== "none" && getComputedStyle(node).visibility !== "hidden"; };
const label = (node) => JSON.stringify(node.textContent.trim().slice(0, 60));
const problems = [];
// Any chart, whatever draws it: each text of its SVG inside that SVG and inside the chart's box.
for (const figure of document.querySelectorAll("figure")) {
  const id = (figure.querySelector("[id^='chart-']") || figure).id || figure.dataset.chart;
  for (const node of [...figure.querySelectorAll("svg text")].filter(shown)) {
    if (node.closest(".hoverlayer")) continue;
    const r = rect(node);
    if (!inside(r, rect(node.closest("svg"))) || !inside(r, rect(figure))) {
      problems.push(`${id}: text ${label(node)} clipped by its chart`);
    }
  }
}
const charts = {};
for (const gd of document.querySelectorAll(".js-plotly-plot")) {
  const id = gd.id;
  const legend = gd.querySelector(".legend");
  const legendBox = legend ? rect(legend.querySelector(".bg")) : null;
  const texts = [...gd.querySelectorAll(".main-svg text")].filter(shown)
    .filter((node) => !node.closest(".hoverlayer"));
  for (const node of texts) {
    const r = rect(node);
    if (legendBox && node.closest(".legend") && !inside(r, legendBox)) {
      problems.push(`${id}: legend text ${label(node)} clipped by the legend`);
    }
  }
  // Labels that overlap: the legend against every other text and the plot areas; tick labels
  // of one axis against each other.
  const others = texts.filter((node) => !node.closest(".legend"));
  if (legendBox) {
    for (const node of others) {
      if (overlap(rect(node), legendBox)) problems.push(`${id}: the legend covers ${label(node)}`);
    }
    for (const area of gd.querySelectorAll(".nsewdrag")) {
      if (overlap(rect(area), legendBox)) problems.push(`${id}: the legend covers the plot`);
    }
  }
  const axes = {};
  for (const node of others) {
    const tick = node.closest("[class$='tick']");
    if (tick) (axes[tick.getAttribute("class")] ||= []).push(node);
  }
  for (const [axis, ticks] of Object.entries(axes)) {
    ticks.forEach((a, i) => ticks.slice(i + 1).forEach((b) => {
      if (overlap(rect(a), rect(b))) problems.push(`${id}: ${axis} labels ${label(a)} and ${label(b)} overlap`);
    }));
  }
  // Marks: every series drew at least one path with a size (a line, a marker or a bar).
  const marks = [...gd.querySelectorAll(".scatterlayer .trace, .barlayer .trace")].map((trace) =>
    [...trace.querySelectorAll("path")].filter((path) => {
      const r = rect(path), d = path.getAttribute("d") || "";
      return (r.width > 0 || r.height > 0) && d !== "" && d !== "M0,0Z";
    }).length);
  charts[id] = {
    legend: legend ? [...legend.querySelectorAll(".legendtext")].map((node) => node.textContent) : [],
    series: gd._fullData.filter((trace) => trace.showlegend !== false).map((trace) => trace.name),
    traces: gd._fullData.length,
    marks,
    x_type: gd._fullLayout.xaxis.type,
    x_ticks: [...gd.querySelectorAll(".xtick text, .x2tick text")].filter(shown).map((node) => node.textContent),
    y_ticks: [...gd.querySelectorAll(".ytick text")].filter(shown).map((node) => node.textContent),
  };
}
for (const node of document.querySelectorAll("h1, h2, h3, figcaption, p, th, td, summary, div.table")) {
  if (node.scrollWidth > node.clientWidth + slack && getComputedStyle(node).display !== "inline") {
    problems.push(`${node.tagName.toLowerCase()} ${label(node)} wider than its box`);
  }
}
if (document.documentElement.scrollWidth > window.innerWidth + slack) {
  problems.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
}
return {problems, charts, width: window.innerWidth};
"""


def layout(driver: WebDriver) -> dict:
    """{problems: [...], charts: {id: {legend, series, traces, marks, x_type, x_ticks, y_ticks}}, width}."""
    return driver.execute_script(LAYOUT)
