"""Atomic publication: a reader during the load sees yesterday's full set, never a mix."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone

import psycopg
import pytest

from recommender import data
from recommender.settings import WarehouseSettings

from .conftest import conninfo

pytestmark = pytest.mark.integration


def _snapshot(conn: psycopg.Connection) -> tuple[int, set[str]]:
    count, versions = conn.execute(
        "select count(*), coalesce(array_agg(distinct model_version), '{}') "
        "from ml.user_recommendations"
    ).fetchone()
    return count, set(versions)


def test_reader_during_publish_sees_the_old_set_then_the_new_one(
    warehouse: psycopg.Connection, test_database: str
) -> None:
    data.ensure_ml_schema(warehouse)
    old_rows = [(u, r, 500 + r, 1.0) for u in range(100) for r in range(1, 11)]
    data.replace_recommendations(warehouse, old_rows, "1", datetime.now(timezone.utc))

    halfway = threading.Event()
    observed = threading.Event()
    seen_mid_load: list[tuple[int, set[str]]] = []

    def new_rows() -> Iterator[data.RecommendationRow]:
        for i, user in enumerate(range(200)):
            if i == 100:
                # Half of today's rows are in the open transaction: let a reader look now.
                halfway.set()
                assert observed.wait(10), "the reader never looked"
            for rank in range(1, 11):
                yield user, rank, 900 + rank, 2.0

    def reader() -> None:
        halfway.wait(10)
        with psycopg.connect(**conninfo(test_database), autocommit=True) as conn:  # type: ignore[arg-type]
            seen_mid_load.append(_snapshot(conn))
        observed.set()

    thread = threading.Thread(target=reader)
    thread.start()
    settings = WarehouseSettings.from_env()
    with data.connect(WarehouseSettings(**{**settings.__dict__, "dbname": test_database})) as conn:
        written = data.replace_recommendations(conn, new_rows(), "2", datetime.now(timezone.utc))
    thread.join(10)

    assert seen_mid_load == [(1000, {"1"})]  # yesterday's full set while today's loads
    assert written == 2000
    assert _snapshot(warehouse) == (2000, {"2"})
