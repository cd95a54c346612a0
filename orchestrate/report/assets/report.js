// Draws each chart of the health report with plotly.js (embedded in the page above this
// script) from the figures orchestrate/report/ built and embedded as JSON. It runs once the
// page is laid out, so that every chart takes the width of its place in the grid.
"use strict";

const charts = JSON.parse(document.getElementById("charts").textContent);
Promise.all(Object.entries(charts.figures).map(([id, figure]) =>
  Plotly.newPlot(id, figure.data, figure.layout, charts.config)))
  .then(() => { document.body.dataset.charts = "drawn"; });
