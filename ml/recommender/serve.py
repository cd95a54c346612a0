"""The read API: ``GET /users/{user_id}/recommendations`` from ml.user_recommendations.

One primary-key range read per request through a connection pool; no cache, so an
answer is always the table's current full set (the job swaps it atomically).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, HTTPException
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from .settings import WarehouseSettings

QUERY = (
    "select rank, track_id, score, model_version, generated_at "
    "from ml.user_recommendations where user_id = %s order by rank"
)


class Recommendation(BaseModel):
    rank: int
    track_id: int
    score: float


class UserRecommendations(BaseModel):
    user_id: int
    model_version: str
    generated_at: datetime
    recommendations: list[Recommendation]


def conninfo(warehouse: WarehouseSettings) -> str:
    parts = {
        "host": warehouse.host,
        "port": warehouse.port,
        "user": warehouse.user,
        "dbname": warehouse.dbname,
        "connect_timeout": warehouse.connect_timeout_s,
        "application_name": "moovitamix-recommendations-api",
    }
    if warehouse.password:
        parts["password"] = warehouse.password
    return " ".join(f"{k}={v}" for k, v in parts.items())


def create_app(warehouse: WarehouseSettings, pool_size: int = 4) -> FastAPI:
    pool = AsyncConnectionPool(
        conninfo(warehouse),
        min_size=1,
        max_size=pool_size,
        open=False,
        # Each request is one read: autocommit keeps no transaction (and no snapshot) open.
        kwargs={"autocommit": True, "prepare_threshold": 0},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="MooVitamix recommendations", lifespan=lifespan)

    @app.get("/users/{user_id}/recommendations", response_model=UserRecommendations)
    async def recommendations(user_id: int) -> UserRecommendations:
        async with pool.connection() as conn:
            rows = await (await conn.execute(QUERY, (user_id,))).fetchall()
        if not rows:
            raise HTTPException(status_code=404, detail=f"unknown user {user_id}")
        return UserRecommendations(
            user_id=user_id,
            model_version=rows[0][3],
            generated_at=rows[0][4],
            recommendations=[Recommendation(rank=r[0], track_id=r[1], score=r[2]) for r in rows],
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
