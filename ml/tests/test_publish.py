"""Atomic publication: the executors fill a staging table, one transaction swaps it in.
Readers see yesterday's full set or today's, never a mix, never an empty table; a failed
write leaves yesterday's set in place and the next run publishes normally."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import psycopg
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recommender import data
from recommender.jdbc import Jdbc
from recommender.settings import SparkSettings, WarehouseSettings

from .conftest import conninfo

pytestmark = pytest.mark.integration


def _snapshot(conn: psycopg.Connection) -> tuple[int, tuple[str, ...]]:
    count, versions = conn.execute(
        "select count(*), coalesce(array_agg(distinct model_version), '{}') "
        "from ml.user_recommendations"
    ).fetchone()
    return count, tuple(versions)


def _jdbc(test_database: str) -> Jdbc:
    warehouse = WarehouseSettings.from_env()
    return Jdbc.of(
        WarehouseSettings(**{**warehouse.__dict__, "dbname": test_database}), SparkSettings()
    )


def _lists(spark: SparkSession, users: int, version: str, first_rank: int = 1) -> DataFrame:
    return (
        spark.range(users * 10)
        .select(
            (F.col("id") / 10).cast("long").alias("user_id"),
            (F.col("id") % 10 + first_rank).cast("int").alias("rank"),
            (F.col("id") % 10 + 500).alias("track_id"),
            F.lit(1.0).alias("score"),
            F.lit(version).alias("model_version"),
            F.lit(datetime.now(timezone.utc)).alias("generated_at"),
        )
        .repartition(4)
    )


def _publish(conn: psycopg.Connection, jdbc: Jdbc, rows: DataFrame) -> None:
    jdbc.append(rows, data.prepare_staging(conn, data.RECOMMENDATIONS_TABLE))
    data.swap_in_staged(conn, data.RECOMMENDATIONS_TABLE)


@pytest.fixture()
def jdbc(warehouse: psycopg.Connection, test_database: str, spark: SparkSession) -> Jdbc:
    """The executors' access to the test warehouse, where yesterday's lists (100 users,
    version "1") are published."""
    access = _jdbc(test_database)
    _publish(warehouse, access, _lists(spark, 100, "1"))
    assert _snapshot(warehouse) == (1000, ("1",))
    return access


def test_readers_see_the_old_set_until_the_swap_then_the_new_one(
    warehouse: psycopg.Connection, test_database: str, spark: SparkSession, jdbc: Jdbc
) -> None:
    observed: list[tuple[int, tuple[str, ...]]] = []
    stop = threading.Event()

    def reader() -> None:
        with psycopg.connect(**conninfo(test_database), autocommit=True) as conn:  # type: ignore[arg-type]
            while not stop.is_set():
                observed.append(_snapshot(conn))

    thread = threading.Thread(target=reader)
    thread.start()
    staged = data.prepare_staging(warehouse, data.RECOMMENDATIONS_TABLE)
    jdbc.append(_lists(spark, 200, "2"), staged)
    # Today's rows are all written, by four connections, each committed: still invisible.
    assert _snapshot(warehouse) == (1000, ("1",))
    data.swap_in_staged(warehouse, data.RECOMMENDATIONS_TABLE)
    after_swap, deadline = len(observed), time.monotonic() + 10
    while len(observed) < after_swap + 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(10)

    assert set(observed) == {(1000, ("1",)), (2000, ("2",))}, set(observed)
    assert observed[-1] == (2000, ("2",))
    assert _snapshot(warehouse) == (2000, ("2",))
    # The key kept its name: tomorrow's staging copy can create its own again.
    keys = warehouse.execute(
        "select indexname from pg_indexes where schemaname = 'ml' "
        "and tablename = 'user_recommendations'"
    ).fetchall()
    assert keys == [("user_recommendations_pkey",)]
    _publish(warehouse, jdbc, _lists(spark, 50, "3"))
    assert _snapshot(warehouse) == (500, ("3",))


def test_a_failed_write_leaves_yesterdays_lists_and_the_next_run_publishes(
    warehouse: psycopg.Connection, spark: SparkSession, jdbc: Jdbc
) -> None:  # Rank 0 breaks the table's check: some partitions are written, one fails.
    with pytest.raises(Exception, match="user_recommendations_rank_check"):
        _publish(warehouse, jdbc, _lists(spark, 100, "2", first_rank=0))
    assert _snapshot(warehouse) == (1000, ("1",))
    _publish(warehouse, jdbc, _lists(spark, 30, "3"))
    assert _snapshot(warehouse) == (300, ("3",))


def test_rows_breaking_the_key_fail_the_swap_and_leave_yesterdays_lists(
    warehouse: psycopg.Connection, spark: SparkSession, jdbc: Jdbc
) -> None:  # The staged copy has no key during the load: the swap builds it, and refuses.
    twice = _lists(spark, 20, "2")
    with pytest.raises(psycopg.errors.UniqueViolation):
        _publish(warehouse, jdbc, twice.union(twice))
    assert _snapshot(warehouse) == (1000, ("1",))
    _publish(warehouse, jdbc, _lists(spark, 30, "3"))
    assert _snapshot(warehouse) == (300, ("3",))


def test_kept_lists_are_copied_into_the_publication_with_its_time(
    warehouse: psycopg.Connection, spark: SparkSession, jdbc: Jdbc
) -> None:  # Users 0-9 scored again, 10-49 kept, 50-99 gone.
    before = {
        row[:3]: row[3]
        for row in warehouse.execute(
            "select user_id, rank, track_id, score from ml.user_recommendations"
        )
    }
    published_at = datetime(2026, 12, 4, 6, tzinfo=timezone.utc)
    scored = _lists(spark, 10, "1").withColumn("score", F.lit(2.0))
    scored = scored.withColumn("generated_at", F.lit(published_at))
    jdbc.append(scored, data.prepare_staging(warehouse, data.RECOMMENDATIONS_TABLE))
    jdbc.append(
        spark.range(10, 50).withColumnRenamed("id", "user_id"), data.prepare_kept(warehouse)
    )
    assert data.copy_kept_lists(warehouse, published_at) == (40, 400)
    data.swap_in_staged(warehouse, data.RECOMMENDATIONS_TABLE)

    after = warehouse.execute(
        "select user_id, rank, track_id, score, generated_at from ml.user_recommendations"
    ).fetchall()
    assert {row[0] for row in after} == set(range(50))
    assert {row[4] for row in after} == {published_at}
    assert {row[3] for row in after if row[0] < 10} == {2.0}
    assert all(before[row[:3]] == row[3] for row in after if row[0] >= 10)
    assert warehouse.execute("select to_regclass('ml.user_recommendations_kept')").fetchone() == (
        None,
    )
