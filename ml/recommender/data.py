"""Warehouse I/O with psycopg: read the interactions, keep the id mapping, replace the
recommendations.

Spark's JDBC source is not used on purpose: the PostgreSQL JDBC jar cannot be
downloaded at run time on these machines, and the data is small enough to pass
through the driver.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from .errors import RecommenderError
from .settings import WarehouseSettings

INTERACTIONS_TABLE = "marts.user_track_interactions"
RECOMMENDATIONS_TABLE = "ml.user_recommendations"

CREATE_ML_DDL = """
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
-- The persistent id -> dense index mapping ALS trains with (see idmap.py): rows are only
-- ever added, so an index keeps meaning the same user or track from one day to the next.
create table if not exists ml.user_index (
    user_id bigint primary key, idx integer not null unique
);
create table if not exists ml.track_index (
    track_id bigint primary key, idx integer not null unique
);
"""

# (user_id, rank, track_id, score), the shape the pipeline publishes.
RecommendationRow = tuple[int, int, int, float]


@dataclass(frozen=True)
class DataVersion:
    """What the model learnt from, logged with every MLflow run."""

    interactions_rows: int
    # Newest last_seen_at of the interactions: when their latest listen was loaded.
    max_updated_at: str
    # dbt's invocation id of the build that produced the marts ("unknown" outside the job).
    dbt_run_id: str


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


def _fetch(conn: psycopg.Connection, query: str, columns: list[str]) -> pd.DataFrame:
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            rows = cur.fetchall()
    except psycopg.errors.UndefinedTable as exc:
        conn.rollback()
        raise RecommenderError(f"{str(exc).splitlines()[0]} (build the dbt marts first)") from exc
    return pd.DataFrame(rows, columns=columns)


def read_interactions(conn: psycopg.Connection) -> pd.DataFrame:
    """(user_id, track_id, weight, seen_at) for tracks of the catalogue only: a listen of
    an unknown track id stays flagged in the warehouse, but the model must never
    recommend that id."""
    frame = _fetch(
        conn,
        "select i.user_id, i.track_id, i.listen_count, i.first_seen_at "
        f"from {INTERACTIONS_TABLE} as i "
        "join marts.dim_tracks as t on t.track_id = i.track_id",
        ["user_id", "track_id", "weight", "seen_at"],
    )
    if frame.empty:
        raise RecommenderError(f"{INTERACTIONS_TABLE} is empty")
    return frame.astype({"user_id": "int64", "track_id": "int64", "weight": "float32"})


def read_users(conn: psycopg.Connection) -> pd.DataFrame:
    """(user_id, favorite_genre) of every known user: the cold-start input."""
    return _fetch(
        conn, "select user_id, favorite_genre from marts.dim_users", ["user_id", "favorite_genre"]
    ).astype({"user_id": "int64"})


def read_track_genres(conn: psycopg.Connection) -> pd.DataFrame:
    return _fetch(conn, "select track_id, genre from marts.dim_tracks", ["track_id", "genre"])


def data_version(conn: psycopg.Connection, rows: int, project_root: Path) -> DataVersion:
    newest = conn.execute(f"select max(last_seen_at) from {INTERACTIONS_TABLE}").fetchone()
    return DataVersion(
        interactions_rows=rows,
        max_updated_at=newest[0].isoformat() if newest and newest[0] else "none",
        dbt_run_id=dbt_invocation_id(project_root),
    )


def dbt_invocation_id(project_root: Path) -> str:
    """The invocation id of the last dbt command run in the project (dbt writes it into
    target/run_results.json); the daily job runs dbt build right before this job."""
    results = project_root / "transform" / "target" / "run_results.json"
    try:
        return str(json.loads(results.read_text())["metadata"]["invocation_id"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def ensure_ml_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(CREATE_ML_DDL)


def load_mapping(conn: psycopg.Connection, kind: str) -> pd.Series:
    """id -> index of ``kind`` ("user" or "track")."""
    table = sql.Identifier("ml", f"{kind}_index")
    rows = conn.execute(
        sql.SQL("select {}, idx from {}").format(sql.Identifier(f"{kind}_id"), table)
    ).fetchall()
    ids = pd.Index([r[0] for r in rows], dtype="int64")
    return pd.Series([r[1] for r in rows], index=ids, dtype="int64")


def save_mapping(conn: psycopg.Connection, kind: str, new_entries: pd.Series) -> None:
    if new_entries.empty:
        return
    table = sql.Identifier("ml", f"{kind}_index")
    copy = sql.SQL("copy {} ({}, idx) from stdin").format(table, sql.Identifier(f"{kind}_id"))
    with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as writer:
        for raw_id, idx in new_entries.items():
            writer.write_row((int(raw_id), int(idx)))


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
    written = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"delete from {RECOMMENDATIONS_TABLE}")
        copy_stmt = (
            f"copy {RECOMMENDATIONS_TABLE} "
            "(user_id, rank, track_id, score, model_version, generated_at) from stdin"
        )
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
