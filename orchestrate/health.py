"""The run's key metrics against their thresholds, from the ledger and its history and,
for the model, from the recommender's own row of the run in ml.training_runs.

Every threshold is an environment variable (defaults and ranges in settings.py, documented
in README.md "Operations"): a breach is stored in ops.pipeline_health and sent as an alert.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import psycopg

from orchestrate import training_runs
from orchestrate.settings import number

# name -> its environment variable (default and allowed range: orchestrate/settings.py).
# Freshness has no entry: its bound is dbt's (sources.yml), read from the run's figures.
THRESHOLDS: dict[str, str] = {
    "duration_factor": "OPS_DURATION_FACTOR",
    "duration_history_runs": "OPS_DURATION_HISTORY_RUNS",
    "duration_min_history": "OPS_DURATION_MIN_HISTORY",
    # The alert; the larger drop that stops the job is Soda's gate (QUALITY_VOLUME_GATE_DROP_PCT).
    "volume_alert_drop_pct": "OPS_VOLUME_MAX_DROP_PCT",
    "max_reject_ratio": "OPS_MAX_REJECT_RATIO",
    "max_orphan_ratio": "OPS_MAX_ORPHAN_RATIO",
    # Also the bound of Soda's warning on ops.identity_conflicts (quality/contract_variables.py).
    "max_new_identity_conflicts": "OPS_MAX_NEW_IDENTITY_CONFLICTS",
    "max_retries": "OPS_MAX_RETRIES",
    "max_http_429": "OPS_MAX_HTTP_429",
    "max_ndcg_drop_vs_champion": "OPS_MAX_NDCG_DROP_VS_CHAMPION",
    "min_coverage": "OPS_MIN_COVERAGE",
    "min_users_scored_ratio": "OPS_MIN_USERS_SCORED_RATIO",
}


def threshold(name: str) -> float:
    return float(number(THRESHOLDS[name]))


@dataclass(frozen=True)
class Finding:
    metric: str
    subject: str
    value: float | None
    threshold: float | None
    breached: bool
    message: str


def _figures(connection: psycopg.Connection, run_id: str) -> dict[tuple[str, str, str], float | None]:
    rows = connection.execute(
        "select step, subject, metric, value from ops.pipeline_figures where run_id = %s", (run_id,)
    ).fetchall()
    return {(step, subject, metric): value for step, subject, metric, value in rows}


def _by_metric(figures: dict[tuple[str, str, str], float | None], metric: str) -> dict[str, float]:
    return {subject: value for (_, subject, name), value in figures.items() if name == metric and value is not None}


def evaluate(connection: psycopg.Connection, run_id: str) -> list[Finding]:
    findings: list[Finding] = []
    run = connection.execute(
        "select status, failed_step, error, duration_s, job from ops.pipeline_runs where run_id = %s", (run_id,)
    ).fetchone()
    status, failed_step, error, duration, job = run
    findings.append(Finding("run_status", job, 1.0 if status == "success" else 0.0, 1.0, status != "success",
                            f"run {status}" + (f" at step {failed_step}: {error}" if failed_step else "")))
    findings += _durations(connection, run_id, job, duration)
    figures = _figures(connection, run_id)
    findings += _volumes(connection, run_id, figures)
    findings += _extract(figures)
    findings += _quality(figures)
    findings += _model(training_runs.read_one(connection, run_id) or {})
    findings += _served(connection, figures)
    return findings


def _durations(connection: psycopg.Connection, run_id: str, job: str, duration: float | None) -> list[Finding]:
    """End-to-end and per-step durations against the p95 of their own successful history."""
    limit = int(threshold("duration_history_runs"))
    current = dict(connection.execute(
        "select step, duration_s from ops.pipeline_steps where run_id = %s and duration_s is not null", (run_id,)
    ).fetchall())
    if duration is not None:
        current["(end to end)"] = duration
    history = connection.execute(
        "with recent as (select run_id, duration_s from ops.pipeline_runs where job = %s and status = 'success'"
        " and run_id <> %s order by started_at desc limit %s)"
        " select '(end to end)', duration_s from recent"
        " union all select s.step, s.duration_s from ops.pipeline_steps s join recent using (run_id)"
        " where s.status = 'success'",
        (job, run_id, limit),
    ).fetchall()
    past: dict[str, list[float]] = {}
    for step, seconds in history:
        past.setdefault(step, []).append(seconds)
    findings = []
    for step, seconds in current.items():
        values = past.get(step, [])
        if len(values) < threshold("duration_min_history"):
            continue
        p95 = statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
        limit_s = threshold("duration_factor") * p95
        findings.append(Finding("duration_s", step, seconds, limit_s, seconds > limit_s,
                                f"{step} took {seconds:.0f} s (limit {limit_s:.0f} s = "
                                f"{threshold('duration_factor')}x p95 of {len(values)} runs)"))
    return findings


def _volumes(connection: psycopg.Connection, run_id: str,
             figures: dict[tuple[str, str, str], float | None]) -> list[Finding]:
    rows = _by_metric(figures, "rows")
    previous = dict(connection.execute(
        "select f.subject, f.value from ops.pipeline_figures f where f.metric = 'rows' and f.run_id = ("
        " select run_id from ops.pipeline_runs where run_id <> %s and started_at < ("
        " select started_at from ops.pipeline_runs where run_id = %s)"
        " and status = 'success' order by started_at desc limit 1)",
        (run_id, run_id),
    ).fetchall())
    findings = []
    max_drop = threshold("volume_alert_drop_pct")
    for table, count in rows.items():
        if not table.startswith("raw.") or table == "raw.rejected_records" or not previous.get(table):
            continue
        change = 100.0 * (count - previous[table]) / previous[table]
        findings.append(Finding("volume_change_pct", table, change, -max_drop, change < -max_drop,
                                f"{table}: {previous[table]:.0f} → {count:.0f} rows ({change:+.1f} %)"))
    # Freshness: dbt's measure against dbt's bound (sources.yml), the one definition.
    bounds = _by_metric(figures, "freshness_warn_after_hours")
    for source, hours in _by_metric(figures, "hours_since_load").items():
        limit = bounds.get(source)
        findings.append(Finding("hours_since_load", source, hours, limit, limit is not None and hours > limit,
                                f"{source}: last load {hours:.1f} h ago"))
    orphan_ratio = _by_metric(figures, "orphan_ratio").get("marts.fct_listens")
    if orphan_ratio is not None:
        limit = threshold("max_orphan_ratio")
        findings.append(Finding("orphan_listen_ratio", "marts.fct_listens", orphan_ratio, limit,
                                orphan_ratio > limit, f"{orphan_ratio:.2%} of listens are of unknown tracks"))
    return findings


def _extract(figures: dict[tuple[str, str, str], float | None]) -> list[Finding]:
    findings = []
    read = sum(_by_metric(figures, "records_read").values())
    rejected = sum(_by_metric(figures, "rejected_records").values())
    if read or rejected:
        ratio = rejected / (read + rejected)
        limit = threshold("max_reject_ratio")
        findings.append(Finding("reject_ratio", "extract", ratio, limit, ratio > limit,
                                f"{rejected:.0f} rejected of {read + rejected:.0f} records ({ratio:.3%})"))
    for metric, name in (("retries", "max_retries"), ("http_429", "max_http_429")):
        values = _by_metric(figures, metric)
        if values:
            total, limit = sum(values.values()), threshold(name)
            findings.append(Finding(metric, "extract", total, limit, total > limit, f"{total:.0f} {metric} (HTTP)"))
    new_conflicts = _by_metric(figures, "new").get("identity_conflicts")
    if new_conflicts is not None:
        limit = threshold("max_new_identity_conflicts")
        findings.append(Finding("new_identity_conflicts", "identity_conflicts", new_conflicts, limit,
                                new_conflicts > limit, f"{new_conflicts:.0f} ids redrawn by the API in this run"))
    return findings


def _quality(figures: dict[tuple[str, str, str], float | None]) -> list[Finding]:
    findings = []
    dbt_failures = ("tests_fail", "tests_error", "unit_tests_fail", "unit_tests_error", "models_error",
                    "snapshots_error")
    failed = sum(v for (_, _, m), v in figures.items() if m in dbt_failures and v)
    if any(m.startswith(("tests_", "models_")) for (_, _, m) in figures):
        findings.append(Finding("dbt_failures", "dbt", failed, 0, failed > 0,
                                f"{failed:.0f} dbt tests or models failed or errored"))
    gates = [(s, v) for (_, s, m), v in figures.items() if m == "contract_passed"]
    if gates:
        failed = [subject for subject, value in gates if not value]
        findings.append(Finding("soda_contracts_failed", "soda", len(failed), 0, bool(failed),
                                f"{len(failed)} Soda contracts failed" + (f": {', '.join(failed)}" if failed else "")))
    return findings


def _model(model: dict) -> list[Finding]:
    """The run's model (its row in ml.training_runs; {} when the recommender wrote none)
    against the popularity baseline, the champion and the coverage floor."""
    findings = []
    ndcg, baseline, champion = (model.get(c) for c in ("ndcg_at_10", "popularity_ndcg_at_10", "champion_ndcg_at_10"))
    if ndcg is not None and baseline is not None:
        findings.append(Finding("ndcg_vs_baseline", "model", ndcg, baseline, ndcg <= baseline,
                                f"NDCG@10 {ndcg:.4f} vs popularity baseline {baseline:.4f}"))
    if ndcg is not None and champion:
        floor = champion * (1 - threshold("max_ndcg_drop_vs_champion"))
        findings.append(Finding("ndcg_vs_champion", "model", ndcg, floor, ndcg < floor,
                                f"NDCG@10 {ndcg:.4f} vs champion {champion:.4f} (floor {floor:.4f})"))
    coverage = model.get("coverage")
    if coverage is not None:
        limit = threshold("min_coverage")
        findings.append(Finding("coverage", "model", coverage, limit, coverage < limit,
                                f"recommendations cover {coverage:.1%} of the catalogue"))
    return findings


def _served(connection: psycopg.Connection, figures: dict[tuple[str, str, str], float | None]) -> list[Finding]:
    """Users with recommendations in ml.user_recommendations against the users of the marts."""
    users = _by_metric(figures, "rows").get("marts.dim_users")
    if not users or not connection.execute("select to_regclass('ml.user_recommendations')").fetchone()[0]:
        return []
    scored = connection.execute("select count(distinct user_id) from ml.user_recommendations").fetchone()[0]
    ratio, limit = scored / users, threshold("min_users_scored_ratio")
    return [Finding("users_scored_ratio", "model", ratio, limit, ratio < limit,
                    f"{scored} of {users:.0f} users have recommendations")]


def record(connection: psycopg.Connection, run_id: str, findings: list[Finding]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "insert into ops.pipeline_health (run_id, metric, subject, value, threshold, breached, message)"
            " values (%s, %s, %s, %s, %s, %s, %s) on conflict (run_id, metric, subject) do update set"
            " value = excluded.value, threshold = excluded.threshold, breached = excluded.breached,"
            " message = excluded.message",
            [(run_id, f.metric, f.subject, f.value, f.threshold, f.breached, f.message) for f in findings],
        )
