"""What the report reads: the run ledger (ops.pipeline_*), the recommender's rows
(ml.training_runs) and the dbt marts that profile the data, each query tolerating a table
the warehouse does not have."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import psycopg

from orchestrate import training_runs
from orchestrate.settings import number

PROFILE_DAYS = 365  # the data section's charts per load day: the last days of the profile
TOP = 10  # top genres, top artists


# What a warehouse may lack: a table no run has prepared yet (ops, ml: the report only reads,
# the run applies the migrations) or dbt has not built yet (the profile marts), or one in an
# older shape. Its section is then empty rather than the report missing.
ABSENT = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.DatatypeMismatch)


def _rows(connection: psycopg.Connection, query: str, params: Sequence | Mapping) -> list[dict] | None:
    """The query's rows, or None when a table it reads is absent (ABSENT); in a transaction of
    its own, so a failed query leaves the session usable for the next."""
    try:
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(query, params)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except ABSENT:
        return None


def report_data(connection: psycopg.Connection) -> dict:
    limit = int(number("REPORT_RUNS"))
    runs = _rows(
        connection,
        "select run_id, job, environment, started_at, finished_at, duration_s, status, failed_step, error"
        " from (select * from ops.pipeline_runs order by started_at desc limit %s) recent order by started_at",
        (limit,),
    ) or []
    run_ids = [run["run_id"] for run in runs]
    steps = _rows(
        connection,
        "select run_id, step_index, step, task, started_at, duration_s, status, exit_code, error"
        " from ops.pipeline_steps where run_id = any(%s) order by run_id, step_index",
        (run_ids,),
    ) or []
    figures = _rows(
        connection,
        "select run_id, step, subject, metric, value, detail from ops.pipeline_figures where run_id = any(%s)",
        (run_ids,),
    ) or []
    health = _rows(
        connection,
        "select run_id, metric, subject, value, threshold, breached, message from ops.pipeline_health"
        " where run_id = any(%s) order by breached desc, metric, subject",
        (run_ids,),
    ) or []
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "steps": steps,
        "figures": figures,
        "health": health,
        "models": training_runs.read(connection, run_ids),
        "profile": profile_data(connection),
    }


# The data section's queries: each reads one small mart that dbt keeps (transform/models/marts/
# profile/, daily_volumes), never the listens themselves. Per-day tables: their last PROFILE_DAYS days.
PROFILE_QUERIES = {
    "daily": "select load_date, listens, listeners, catalogued_listens, favourite_genre_listens"
             " from marts.profile_daily_listens"
             " where load_date > (select max(load_date) from marts.profile_daily_listens) - %(days)s::integer"
             " order by load_date",
    "genres": "select genre, sum(listens)::bigint as listens, (sum(sum(listens)) over ())::bigint as total"
              " from marts.profile_daily_genre_listens group by genre order by listens desc, genre limit %(top)s",
    "artists": "select artist, listens, (sum(listens) over ())::bigint as total"
               " from marts.profile_artist_listens order by listens desc, artist limit %(top)s",
    "history": "select min_length, max_length, users from marts.profile_history_lengths order by min_length",
    "arrivals": "select load_date, entity, new_count from marts.daily_volumes"
                " where entity in ('users', 'tracks')"
                " and load_date > (select max(load_date) from marts.daily_volumes) - %(days)s::integer"
                " order by load_date, entity",
    # The published lists: one row per publication (the last PROFILE_DAYS days), then the
    # last publication's genre mix.
    "published": "select generated_at, model_version, users_with_lists, tracks_recommended, catalogue_tracks,"
                 " catalogue_coverage, cold_start_users, cold_start_share from marts.profile_published_lists"
                 " where generated_at > (select max(generated_at) from marts.profile_published_lists)"
                 " - %(days)s::integer * interval '1 day' order by generated_at",
    "published_genres": "select genre, recommended_slots, recommended_share, listens, listen_share"
                        " from marts.profile_published_genres"
                        " where generated_at = (select max(generated_at) from marts.profile_published_genres)"
                        " order by listen_share desc nulls last, genre",
}


def profile_data(connection: psycopg.Connection) -> dict[str, list[dict] | None]:
    """Each of the data section's tables' rows; None for a mart this warehouse does not have
    (dbt has not built it yet) or has in another shape (built by an older version)."""
    return {key: _rows(connection, query, {"days": PROFILE_DAYS, "top": TOP})
            for key, query in PROFILE_QUERIES.items()}
