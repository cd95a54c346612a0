"""The ledger's rows indexed by run, as the charts and tables read them, and run times in UTC."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable


class Ledger:
    """The ledger's rows indexed by run, as the charts and tables read them."""

    def __init__(self, data: dict) -> None:
        self.runs: list[dict] = data["runs"]
        self.ids = [run["run_id"] for run in self.runs]
        # Runs on a date axis: their start in UTC, without an offset (plotly.js would drop it).
        self.x = [utc(run["started_at"]).strftime("%Y-%m-%d %H:%M:%S") for run in self.runs]
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


def utc(value: dt.datetime | str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment
