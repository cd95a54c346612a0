"""The FastAPI application: three paginated read-only endpoints, as the client ships them."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Query
from fastapi.responses import RedirectResponse
from fastapi_pagination import Page, add_pagination, paginate
from fastapi_pagination.customization import CustomizedPage, UseName, UseParamsFields
from fastapi_pagination.utils import disable_installed_extensions_check
from pydantic import BaseModel, Field

from api.generator import Dataset, generate

# SQLAlchemy is in the same venv (Meltano needs it), but the stand-in pages over
# in-memory sequences: the plain `paginate` is the right one, not a missed extension.
disable_installed_extensions_check()

T = TypeVar("T")

# fastapi-pagination defaults to size=50; the shipped application serves 100.
# UseName keeps the OpenAPI schema names as "Page[...]" like the real service.
MooPage = CustomizedPage[
    Page[T],
    UseName("Page"),
    UseParamsFields(size=Query(100, ge=1, le=100, description="Page size")),
]

# Timestamps are pre-formatted strings: pydantic would drop ".000000" microseconds.
_TIMESTAMP: dict[str, Any] = {"json_schema_extra": {"format": "date-time"}}


class Track(BaseModel):
    id: int
    name: str
    artist: str
    songwriters: str
    duration: str = Field(description="MM:SS")
    genres: str
    album: str
    created_at: str = Field(**_TIMESTAMP)
    updated_at: str = Field(**_TIMESTAMP)


class User(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str
    gender: str
    favorite_genres: str
    created_at: str = Field(**_TIMESTAMP)
    updated_at: str = Field(**_TIMESTAMP)


class ListenHistory(BaseModel):
    # Nullable in the shipped schema, though the shipped generator always fills them.
    user_id: int | None
    items: list[int] | None
    created_at: str = Field(**_TIMESTAMP)
    updated_at: str = Field(**_TIMESTAMP)


def create_app(records: int = 1000, seed: int = 42) -> FastAPI:
    """Build the app with ``records`` per endpoint; the same seed gives the same data."""
    data: Dataset = generate(records, seed)
    app = FastAPI(title="MooVitamix API (local stand-in)")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(url="/docs", status_code=307)

    @app.get("/tracks", response_model=MooPage[Track])
    def tracks() -> Any:
        return paginate(data.tracks)

    @app.get("/users", response_model=MooPage[User])
    def users() -> Any:
        return paginate(data.users)

    @app.get("/listen_history", response_model=MooPage[ListenHistory])
    def listen_history() -> Any:
        return paginate(data.listen_history)

    add_pagination(app)
    return app
