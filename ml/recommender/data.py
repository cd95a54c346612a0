"""The warehouse as the recommender sees it: what it reads (through Spark's JDBC
source, see jdbc.py), the small facts it asks Postgres directly (bounds, versions), the
tables it owns (schema ml) and the atomic publication of a staged table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .errors import RecommenderError
from .jdbc import Jdbc
from .settings import WarehouseSettings

INTERACTIONS_TABLE = "marts.user_track_interactions"
RECOMMENDATIONS_TABLE = "ml.user_recommendations"

# The ml tables: orchestrate/migrations/ml.sql.

# Listens of catalogued tracks only: a listen of an unknown track id stays flagged in
# the warehouse, but the model must never recommend that id.
INTERACTIONS_QUERY = f"""
select i.user_id, i.track_id, i.listen_count::real as weight, i.first_seen_at as seen_at
from {INTERACTIONS_TABLE} as i
where exists (select from marts.dim_tracks as t where t.track_id = i.track_id)
"""
USERS_QUERY = "select user_id, favorite_genre from marts.dim_users"
TRACK_GENRES_QUERY = "select track_id, genre from marts.dim_tracks where genre is not null"


@dataclass(frozen=True)
class DataVersion:
    """What the model learnt from, logged with every MLflow run."""

    # Newest last_seen_at of the interactions: when their latest listen was loaded.
    max_updated_at: str
    # dbt's invocation id of the build that produced the marts ("unknown" outside the job).
    dbt_run_id: str


@dataclass(frozen=True)
class TableShape:
    """What a partitioned read needs: the key's range and the planner's row estimate."""

    bounds: tuple[int, int] | None
    estimated_rows: int


def connect(warehouse: WarehouseSettings, autocommit: bool = False) -> psycopg.Connection:
    try:
        return psycopg.connect(
            host=warehouse.host,
            port=warehouse.port,
            user=warehouse.user,
            password=warehouse.password or None,
            dbname=warehouse.dbname,
            connect_timeout=warehouse.connect_timeout_s,
            application_name="moovitamix-recommender",
            autocommit=autocommit,
        )
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecommenderError(
            f"cannot connect to the warehouse at {warehouse.address} "
            f"(database {warehouse.dbname!r}): {first_line}"
        ) from exc


def table_shape(conn: psycopg.Connection, table: str, key: str) -> TableShape:
    """min/max of an indexed integer key and pg_class's row estimate (no full scan)."""
    try:
        low, high = conn.execute(
            sql.SQL("select min({k}), max({k}) from {t}").format(
                k=sql.Identifier(key), t=sql.Identifier(*table.split("."))
            )
        ).fetchone()
        estimate = conn.execute(
            "select greatest(reltuples, 0)::bigint from pg_class where oid = %s::regclass",
            (table,),
        ).fetchone()
    except psycopg.errors.UndefinedTable as exc:
        conn.rollback()
        raise RecommenderError(f"{str(exc).splitlines()[0]} (build the dbt marts first)") from exc
    bounds = None if low is None else (int(low), int(high))
    return TableShape(bounds, int(estimate[0]) if estimate else 0)


def read_interactions(spark: SparkSession, jdbc: Jdbc, shape: TableShape) -> DataFrame:
    """(user_id, track_id, weight, seen_at), read in user_id ranges by the executors."""
    if shape.bounds is None:
        raise RecommenderError(f"{INTERACTIONS_TABLE} is empty")
    return jdbc.read(spark, INTERACTIONS_QUERY, "user_id", shape.bounds, shape.estimated_rows)


def read_users(spark: SparkSession, jdbc: Jdbc, shape: TableShape) -> DataFrame:
    """(user_id, favorite_genre) of every known user: the cold-start input."""
    return jdbc.read(spark, USERS_QUERY, "user_id", shape.bounds, shape.estimated_rows)


def read_track_genres(spark: SparkSession, jdbc: Jdbc, shape: TableShape) -> DataFrame:
    return jdbc.read(spark, TRACK_GENRES_QUERY, "track_id", shape.bounds, shape.estimated_rows)


def read_mapping(spark: SparkSession, jdbc: Jdbc, kind: str) -> DataFrame:
    """(id, idx) of ``kind`` ("user" or "track"), as stored today."""
    return jdbc.read(
        spark, f"select {kind}_id as id, idx from ml.{kind}_index", "id", None, 0
    ).select(F.col("id").cast("long"), F.col("idx").cast("int"))


def data_version(conn: psycopg.Connection, dbt_target: Path) -> DataVersion:
    newest = conn.execute(f"select max(last_seen_at) from {INTERACTIONS_TABLE}").fetchone()
    return DataVersion(
        max_updated_at=newest[0].isoformat() if newest and newest[0] else "none",
        dbt_run_id=dbt_invocation_id(dbt_target),
    )


def dbt_invocation_id(dbt_target: Path) -> str:
    """The invocation id of the last dbt command (dbt writes it into run_results.json in
    its target folder); the daily job runs dbt build right before this job."""
    results = dbt_target / "run_results.json"
    try:
        return str(json.loads(results.read_text())["metadata"]["invocation_id"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def staging_table(table: str) -> str:
    return f"{table}_staged"


def kept_table(table: str) -> str:
    return f"{table}_kept"


def read_published_users(
    spark: SparkSession, jdbc: Jdbc, conn: psycopg.Connection, version: str
) -> DataFrame:
    """(user_id) of the users with a published list of ``version`` (their rank-1 rows),
    read in user_id ranges by the executors."""
    shape = table_shape(conn, RECOMMENDATIONS_TABLE, "user_id")
    query = (
        sql.SQL("select user_id from {t} where rank = 1 and model_version = {v}")
        .format(t=sql.Identifier(*RECOMMENDATIONS_TABLE.split(".")), v=sql.Literal(version))
        .as_string(conn)
    )
    return jdbc.read(spark, query, "user_id", shape.bounds, shape.estimated_rows)


def prepare_kept(conn: psycopg.Connection) -> str:
    """An empty list of user ids for the executors to fill: the users whose published
    lists the staged table takes over (copy_kept_lists)."""
    kept = kept_table(RECOMMENDATIONS_TABLE)
    with conn.transaction():
        conn.execute(
            sql.SQL("drop table if exists {k}; create unlogged table {k} (user_id bigint)").format(
                k=sql.Identifier(*kept.split("."))
            )
        )
    return kept


def copy_kept_lists(conn: psycopg.Connection, published_at: datetime) -> tuple[int, int]:
    """Copy the published rows of the users listed by prepare_kept into the staged table,
    stamped ``published_at`` (the publication they now belong to); (users, rows)."""
    table = sql.Identifier(*RECOMMENDATIONS_TABLE.split("."))
    staged = sql.Identifier(*staging_table(RECOMMENDATIONS_TABLE).split("."))
    kept = sql.Identifier(*kept_table(RECOMMENDATIONS_TABLE).split("."))
    with conn.transaction():
        users = conn.execute(sql.SQL("select count(*) from {k}").format(k=kept)).fetchone()[0]
        rows = conn.execute(
            sql.SQL(
                "insert into {s} (user_id, rank, track_id, score, model_version, generated_at) "
                "select p.user_id, p.rank, p.track_id, p.score, p.model_version, %s "
                "from {t} as p join {k} as k on k.user_id = p.user_id"
            ).format(s=staged, t=table, k=kept),
            (published_at,),
        ).rowcount
        conn.execute(sql.SQL("drop table {k}").format(k=kept))
    return int(users), rows


def prepare_staging(conn: psycopg.Connection, table: str) -> str:
    """An empty copy of ``table`` (columns, defaults, checks; no index, so no key: the
    swap builds it once the rows are in) for the executors to fill; whatever a failed
    run left there is dropped first."""
    staged = staging_table(table)
    with conn.transaction():
        conn.execute(
            sql.SQL(
                "drop table if exists {s}; "
                "create table {s} (like {t} including all excluding indexes)"
            ).format(s=sql.Identifier(*staged.split(".")), t=sql.Identifier(*table.split(".")))
        )
    return staged


def append_staged_mapping(conn: psycopg.Connection, kind: str) -> int:
    """Add the staged new entries of ml.<kind>_index in one transaction: a run that
    fails half-way through its JDBC writes adds nothing."""
    table = f"ml.{kind}_index"
    staged = sql.Identifier(*staging_table(table).split("."))
    with conn.transaction():
        added = conn.execute(
            sql.SQL("insert into {t} select * from {s}").format(
                t=sql.Identifier(*table.split(".")), s=staged
            )
        ).rowcount
        conn.execute(sql.SQL("drop table {s}").format(s=staged))
    return added


def swap_in_staged(conn: psycopg.Connection, table: str) -> None:
    """Replace ``table`` by its staged copy in ONE transaction: readers see yesterday's
    rows or today's, never a mix and never an empty table (a reader started before the
    swap finishes on the old rows; the renames wait for it, then new readers resolve
    the name to the new table).

    The staged table gets the live one's primary key first: one sort of the loaded
    rows, where a key maintained during the load would be updated row by row by every
    insert batch (duplicates fail here, before anything is swapped). Its index is named
    as the live one's, so tomorrow's staging copy can name its own again."""
    schema, name = table.split(".")
    staged = staging_table(name)
    names = {
        "s": sql.Identifier(schema),
        "t": sql.Identifier(name),
        "p": sql.Identifier(f"{name}_previous"),
        "staged": sql.Identifier(staged),
        "staged_key": sql.Identifier(f"{staged}_pkey"),
        "key": sql.Identifier(f"{name}_pkey"),
    }
    with conn.transaction():
        key = conn.execute(
            "select pg_get_constraintdef(oid) from pg_constraint "
            "where conrelid = %s::regclass and contype = 'p'",
            (table,),
        ).fetchone()
        if key is None:
            raise RecommenderError(f"{table} has no primary key to give its staged copy")
        conn.execute(
            sql.SQL("alter table {s}.{staged} add constraint {staged_key} {definition}").format(
                **names, definition=sql.SQL(key[0])
            )
        )
        for statement in (
            "alter table {s}.{t} rename to {p}",
            "drop table {s}.{p}",
            "alter table {s}.{staged} rename to {t}",
            "alter index {s}.{staged_key} rename to {key}",
        ):
            conn.execute(sql.SQL(statement).format(**names))
