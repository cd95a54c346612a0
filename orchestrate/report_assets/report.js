// Draws the health report's charts as inline SVG from the JSON embedded in the page.
// No library and no network: the page must open from a file on an offline machine.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const data = JSON.parse(document.getElementById("report-data").textContent);

function el(name, attributes, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function label(run) {
  return (run.started_at || "").slice(5, 16).replace("T", " ");
}

function empty(container, text) {
  container.innerHTML = "";
  const note = document.createElement("p");
  note.className = "empty";
  note.textContent = text;
  container.appendChild(note);
}

function frame(container, labels, maxValue) {
  const width = 560, height = 260, left = 52, right = 24, top = 12, bottom = 58;
  container.innerHTML = "";
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "data-chart": container.id });
  const plotW = width - left - right, plotH = height - top - bottom;
  // Inset from both axes so that the first and last bars do not cover the axis labels.
  const inset = 16, innerW = plotW - 2 * inset;
  const x = (i) => left + inset + (labels.length === 1 ? innerW / 2 : (i * innerW) / (labels.length - 1));
  const y = (v) => top + plotH - (maxValue > 0 ? (v / maxValue) * plotH : 0);
  el("line", { x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH, stroke: "#888" }, svg);
  el("line", { x1: left, y1: top, x2: left, y2: top + plotH, stroke: "#888" }, svg);
  for (let t = 0; t <= 4; t++) {
    const value = (maxValue * t) / 4;
    el("line", { x1: left, y1: y(value), x2: left + plotW, y2: y(value), stroke: "#eee" }, svg);
    const tick = el("text", { x: left - 4, y: y(value) + 4, "text-anchor": "end", "font-size": 10 }, svg);
    tick.textContent = value >= 100 ? value.toFixed(0) : value.toPrecision(2);
  }
  const step = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((text, i) => {
    if (i % step !== 0 && i !== labels.length - 1) return;
    const tick = el("text", { x: x(i), y: top + plotH + 14, "text-anchor": "end", "font-size": 9,
      transform: `rotate(-35 ${x(i)} ${top + plotH + 14})` }, svg);
    tick.textContent = text;
  });
  container.appendChild(svg);
  return { svg, x, y, left, top, plotW, plotH, width };
}

function legend(chart, names) {
  const group = el("g", { class: "legend" }, chart.svg);
  let offset = chart.left;
  names.forEach((name, i) => {
    el("rect", { x: offset, y: 250, width: 10, height: 10, fill: COLOURS[i % COLOURS.length] }, group);
    const text = el("text", { x: offset + 13, y: 259 }, group);
    text.textContent = name;
    offset += 22 + name.length * 6.6;
  });
}

// series: [{name, values: [number|null per run]}]
function lineChart(id, labels, series) {
  const container = document.getElementById(id);
  const present = series.filter((s) => s.values.some((v) => v !== null && v !== undefined));
  if (!labels.length || !present.length) return empty(container, "no data yet");
  const maxValue = Math.max(...present.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined))) * 1.1 || 1;
  const chart = frame(container, labels, maxValue);
  present.forEach((s, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const points = s.values.map((v, i) => (v === null || v === undefined ? null : [chart.x(i), chart.y(v), v, i]))
      .filter(Boolean);
    el("polyline", { points: points.map((p) => `${p[0]},${p[1]}`).join(" "), fill: "none", stroke: colour,
      "stroke-width": 2, class: "series" }, chart.svg);
    points.forEach((p) => {
      const dot = el("circle", { cx: p[0], cy: p[1], r: 3, fill: colour }, chart.svg);
      el("title", {}, dot).textContent = `${s.name} · ${labels[p[3]]}: ${p[2]}`;
    });
  });
  legend(chart, present.map((s) => s.name));
}

// series stacked per run: [{name, colour, values}]
function barChart(id, labels, series) {
  const container = document.getElementById(id);
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  if (!labels.length || !Math.max(...totals)) return empty(container, "no data yet");
  const chart = frame(container, labels, Math.max(...totals) * 1.1);
  const barW = Math.max(3, Math.min(24, chart.plotW / labels.length - 4));
  labels.forEach((run, i) => {
    let base = 0;
    series.forEach((s) => {
      const value = s.values[i] || 0;
      if (!value) return;
      const top = chart.y(base + value), bottom = chart.y(base);
      const bar = el("rect", { x: chart.x(i) - barW / 2, y: top, width: barW, height: bottom - top,
        fill: s.colour, class: "series" }, chart.svg);
      el("title", {}, bar).textContent = `${run}: ${value} ${s.name}`;
      base += value;
    });
  });
  const group = el("g", { class: "legend" }, chart.svg);
  series.forEach((s, i) => {
    el("rect", { x: chart.left + i * 90, y: 250, width: 10, height: 10, fill: s.colour }, group);
    el("text", { x: chart.left + i * 90 + 13, y: 259 }, group).textContent = s.name;
  });
}

function figure(runId, predicate) {
  const rows = data.figures.filter((f) => f.run_id === runId && predicate(f) && f.value !== null);
  return rows.length ? rows.reduce((sum, f) => sum + f.value, 0) : null;
}

function table(parent, headers, rows) {
  const node = document.createElement("table");
  const head = node.insertRow();
  headers.forEach((h) => { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
  rows.forEach((cells) => {
    const row = node.insertRow();
    cells.forEach((cell) => {
      const td = row.insertCell();
      td.textContent = cell === null || cell === undefined ? "" : String(cell);
      if (["success", "failed", "aborted", "running", "breached", "ok"].includes(td.textContent)) {
        td.className = td.textContent;
      }
    });
  });
  parent.appendChild(node);
}

function round(value, digits) {
  return value === null || value === undefined ? null : Number(value.toFixed(digits));
}

function render() {
  const runs = data.runs;
  const labels = runs.map(label);
  const ids = runs.map((r) => r.run_id);

  const entities = [...new Set(data.figures.filter((f) => f.metric === "rows" && f.subject.startsWith("raw.")
    && f.subject !== "raw.rejected_records").map((f) => f.subject))].sort();
  lineChart("chart-volumes", labels, entities.map((entity) => ({
    name: entity, values: ids.map((id) => figure(id, (f) => f.metric === "rows" && f.subject === entity)) })));

  const stepNames = [...new Set(data.steps.map((s) => s.step))];
  lineChart("chart-durations", labels, [
    { name: "end to end", values: runs.map((r) => round(r.duration_s, 1)) },
    ...stepNames.map((name) => ({ name, values: ids.map((id) => {
      const step = data.steps.find((s) => s.run_id === id && s.step === name);
      return step ? round(step.duration_s, 1) : null;
    }) })),
  ]);

  const checks = (id, passed) => figure(id, (f) => (f.metric === "check_passed" && f.value === passed));
  barChart("chart-checks", labels, [
    { name: "passed", colour: "#2ca02c", values: ids.map((id) => (checks(id, 1) || 0)
      + (figure(id, (f) => f.metric === "tests_pass" || f.metric === "unit_tests_pass") || 0)) },
    { name: "warned", colour: "#ff7f0e", values: ids.map((id) => (data.figures.filter((f) => f.run_id === id
      && f.metric === "check_passed" && f.value === 0.5).length) + (figure(id, (f) => f.metric === "tests_warn") || 0)) },
    { name: "failed", colour: "#d62728", values: ids.map((id) => (data.figures.filter((f) => f.run_id === id
      && f.metric === "check_passed" && f.value === 0).length)
      + (figure(id, (f) => ["tests_fail", "tests_error", "unit_tests_fail"].includes(f.metric)) || 0)) },
  ]);

  const sources = [...new Set(data.figures.filter((f) => f.metric === "latest_loaded_at").map((f) => f.subject))];
  const ageAt = (run, source, metric) => {
    const value = figure(run.run_id, (f) => f.subject === source && f.metric === metric);
    const at = Date.parse(run.finished_at || run.started_at) / 1000;
    return value === null ? null : round((at - value) / 3600, 2);
  };
  lineChart("chart-freshness", labels, sources.flatMap((source) => [
    { name: `${source} load`, values: runs.map((r) => ageAt(r, source, "latest_loaded_at")) },
    { name: `${source} update`, values: runs.map((r) => ageAt(r, source, "latest_updated_at")) },
  ]));

  const model = (metric) => ids.map((id) => round(figure(id, (f) => f.subject === "model" && f.metric === metric), 4));
  lineChart("chart-model", labels, [
    { name: "model NDCG@10", values: model("ndcg_at_10") },
    { name: "popularity baseline", values: model("popularity_ndcg_at_10") },
    { name: "champion", values: model("champion_ndcg_at_10") },
  ]);
  lineChart("chart-coverage", labels, [
    { name: "catalogue coverage", values: model("coverage") },
    { name: "users scored / users", values: ids.map((id) => {
      const finding = data.health.find((h) => h.run_id === id && h.metric === "users_scored_ratio");
      return finding ? round(finding.value, 4) : null;
    }) },
  ]);

  renderLastRun();
  table(document.querySelector("#runs .content"), ["run", "started", "status", "seconds", "failed step", "error"],
    [...runs].reverse().map((r) => [r.run_id, r.started_at, r.status, round(r.duration_s, 1), r.failed_step, r.error]));
  document.body.dataset.charts = String(document.querySelectorAll("svg[data-chart]").length);
  document.body.dataset.rendered = "yes";
}

function renderLastRun() {
  const parent = document.querySelector("#last-run .content");
  const last = data.runs[data.runs.length - 1];
  if (!last) return empty(parent, "no run recorded yet: make run");
  const summary = document.getElementById("status");
  summary.textContent = `${last.run_id} · ${last.environment} · ${last.status} · ${round(last.duration_s, 1)} s`
    + (last.error ? ` · ${last.error}` : "");
  summary.className = last.status;
  table(parent, ["#", "step", "status", "seconds", "exit", "error"], data.steps.filter((s) => s.run_id === last.run_id)
    .map((s) => [s.step_index, s.step, s.status, round(s.duration_s, 1), s.exit_code, s.error]));
  table(parent, ["metric", "subject", "value", "threshold", "verdict", "message"], data.health
    .filter((h) => h.run_id === last.run_id)
    .map((h) => [h.metric, h.subject, round(h.value, 4), round(h.threshold, 4), h.breached ? "breached" : "ok", h.message]));
  const details = document.createElement("details");
  details.appendChild(document.createElement("summary")).textContent = "every figure of the last run";
  parent.appendChild(details);
  table(details, ["step", "subject", "metric", "value", "detail"], data.figures
    .filter((f) => f.run_id === last.run_id)
    .sort((a, b) => (a.step + a.subject + a.metric).localeCompare(b.step + b.subject + b.metric))
    .map((f) => [f.step, f.subject, f.metric, round(f.value, 4), f.detail]));
}

render();
