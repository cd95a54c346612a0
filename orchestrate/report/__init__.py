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

The report only reads: a table the warehouse lacks is an empty section. Its modules:
data.py (the queries), ledger.py (their rows by run), charts.py (what every chart shares),
pipeline_charts.py and data_charts.py (the questions' charts and the data section's),
soda.py (the Soda section), tables.py (the HTML tables), page.py (the page and its file),
__main__.py (the command); the page's HTML, CSS and script are in assets/.
"""

from orchestrate.report.page import write_report

__all__ = ["write_report"]
