"""Warehouse I/O with psycopg: read the listen history, replace the recommendations.

Spark's JDBC source is not used on purpose: the PostgreSQL JDBC jar cannot be
downloaded at run time on these machines, and the data is small enough to pass
through the driver.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
import psycopg
from psycopg import sql

from .errors import RecommenderError
from .settings import WarehouseSettings

LISTENS_TABLE = "marts.fct_listens"
RECOMMENDATIONS_SCHEMA = "ml"
RECOMMENDATIONS_TABLE = "user_recommendations"

# ALS stores ids as 32-bit ints; a larger id would be silently corrupted by the cast.
INT32_MAX = 2**31 - 1

CREATE_RECOMMENDATIONS_DDL = """
create schema if not exists ml;
create table if not exists ml.user_recommendations (
    user_id       bigint           not null,
    rank          int              not null check (rank >= 1),
    track_id      bigint           not null,
    score         double precision not null,
    model_version text             not null,
    generated_at  timestamptz      not null,
    primary key (user_id, rank)
);
"""


# (user_id, rank, track_id, score), the shape produced by recommender.score.
RecommendationRow = tuple[int, int, int, float]


def connect(warehouse: WarehouseSettings) -> psycopg.Connection:
    try:
        return psycopg.connect(
            host=warehouse.host,
            port=warehouse.port,
            user=warehouse.user,
            password=warehouse.password or None,
            dbname=warehouse.dbname,
            connect_timeout=warehouse.connect_timeout_s,
            application_name="moovitamix-recommender",
        )
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecommenderError(
            f"cannot connect to the warehouse at {warehouse.address} "
            f"(database {warehouse.dbname!r}): {first_line}"
        ) from exc


def read_listens(conn: psycopg.Connection) -> pd.DataFrame:
    """One row per listen of a known track: (user_id, track_id). Weights are computed later."""
    try:
        with conn.cursor() as cur:
            # Only tracks of the catalogue: a listen of an unknown track id is kept and
            # flagged in the warehouse, but the model must never recommend that id.
            cur.execute(
                "select listens.user_id, listens.track_id from marts.fct_listens as listens "
                "join marts.dim_tracks as tracks on tracks.track_id = listens.track_id "
                "where listens.user_id is not null"
            )
            rows = cur.fetchall()
    except psycopg.errors.UndefinedTable as exc:
        conn.rollback()
        raise RecommenderError(
            f"{LISTENS_TABLE} does not exist (build the dbt marts first)"
        ) from exc
    finally:
        # A read-only job must not leave a transaction open (it would hold a snapshot).
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
    if not rows:
        raise RecommenderError(f"{LISTENS_TABLE} is empty")
    listens = pd.DataFrame(rows, columns=["user_id", "track_id"]).astype("int64")
    too_big = listens[(listens.user_id > INT32_MAX) | (listens.track_id > INT32_MAX)]
    too_small = listens[(listens.user_id < 0) | (listens.track_id < 0)]
    if not too_big.empty or not too_small.empty:
        raise RecommenderError(
            f"{LISTENS_TABLE} has ids outside 0..{INT32_MAX}, which ALS cannot index"
        )
    return listens


def ensure_recommendations_table(conn: psycopg.Connection) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(CREATE_RECOMMENDATIONS_DDL)


def replace_recommendations(
    conn: psycopg.Connection,
    recommendations: Iterable[RecommendationRow],
    model_version: str,
    generated_at: datetime,
) -> int:
    """Swap all rows in ONE transaction so readers see yesterday's set or today's, never a mix.

    DELETE (not TRUNCATE): TRUNCATE takes an ACCESS EXCLUSIVE lock that would block
    readers for the length of the load, while DELETE lets them keep reading the old
    snapshot until commit.
    """
    ensure_recommendations_table(conn)
    table = sql.Identifier(RECOMMENDATIONS_SCHEMA, RECOMMENDATIONS_TABLE)
    written = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("delete from {}").format(table))
        copy_stmt = sql.SQL(
            "copy {} (user_id, rank, track_id, score, model_version, generated_at) from stdin"
        ).format(table)
        with cur.copy(copy_stmt) as copy:
            for user_id, rank, track_id, score in recommendations:
                copy.write_row(
                    (
                        int(user_id),
                        int(rank),
                        int(track_id),
                        float(score),
                        model_version,
                        generated_at,
                    )
                )
                written += 1
    return written
