"""The read API against a real Postgres: a known user's list in rank order, 404 otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import psycopg
import pytest
from fastapi.testclient import TestClient

from recommender.serve import create_app
from recommender.settings import WarehouseSettings

pytestmark = pytest.mark.integration


def test_recommendations_of_a_user_and_404_for_an_unknown_one(
    warehouse: psycopg.Connection, test_database: str
) -> None:
    generated = datetime(2026, 11, 27, 6, tzinfo=timezone.utc)
    rows = [(42, rank, 700 - rank, 1.0 / rank) for rank in (3, 1, 2)]
    with warehouse.cursor() as cur:
        cur.executemany(
            "insert into ml.user_recommendations values (%s, %s, %s, %s, '7', %s)",
            [(*row, generated) for row in rows],
        )
    app = create_app(replace(WarehouseSettings.from_env(), dbname=test_database))
    with TestClient(app) as client:
        answer = client.get("/users/42/recommendations")
        assert answer.status_code == 200
        body = answer.json()
        assert body["user_id"] == 42 and body["model_version"] == "7"
        assert datetime.fromisoformat(body["generated_at"]) == generated
        assert [(r["rank"], r["track_id"]) for r in body["recommendations"]] == [
            (1, 699),
            (2, 698),
            (3, 697),
        ]
        missing = client.get("/users/43/recommendations")
        assert missing.status_code == 404 and missing.json() == {"detail": "unknown user 43"}
        assert client.get("/users/not-a-number/recommendations").status_code == 422
