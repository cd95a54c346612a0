"""The FastAPI application: three paginated read-only endpoints, as the client ships them.

The OpenAPI document, parameters and 422 bodies come from FastAPI + fastapi-pagination as
in the shipped application; the page bodies are encoded here, straight from the generated
dicts, which is both faster and the only way to serve the contract-breaking records of the
``bad_record`` fault (a response model would refuse them).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi_pagination import Page, add_pagination
from fastapi_pagination.api import resolve_params
from fastapi_pagination.customization import CustomizedPage, UseName, UseParamsFields
from fastapi_pagination.utils import disable_installed_extensions_check
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from api.stand_in.faults import FaultInjector, Reporter
from api.stand_in.settings import Settings
from api.stand_in.world import World

# SQLAlchemy is in the same venv (Meltano needs it), but the stand-in pages over
# generated records: no pagination extension is missing.
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


def encode(body: dict[str, Any]) -> bytes:
    """The bytes FastAPI's JSON response would carry: compact, UTF-8, not ASCII-escaped."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class DroppedResponse(Response):
    """Announces the whole body, sends half of it, then gives up: the connection is closed."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        # Returning before the last chunk makes uvicorn close the connection mid-response.


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def create_app(settings: Settings | None = None, *, fault_log: Callable[[str], None] = _stderr) -> FastAPI:
    """The app for ``settings``; with none, exactly what ``python -m api.stand_in`` serves with no env var set.

    ``fault_log`` receives one line per injected fault (stderr by default).
    """
    settings = settings or Settings()
    world = World(settings)
    faults = FaultInjector(settings, fault_log)
    app = FastAPI(title="MooVitamix API (local stand-in)")

    def unauthorised(request: Request) -> Response | None:
        if settings.token is None:
            return None
        if request.headers.get("authorization") == f"Bearer {settings.token}":
            return None
        return JSONResponse({"detail": "Not authenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    async def listing(endpoint: str, request: Request) -> Response:
        refused = unauthorised(request)
        if refused is not None:
            return refused
        params = resolve_params()
        page, size = params.page, params.size  # type: ignore[attr-defined]
        url = f"{request.url.path}?{request.url.query}"
        hits, reporter = faults.decide(endpoint, url)
        early = _refusal(hits, reporter, settings)
        if early is not None:
            return early
        if "slow" in hits:
            reporter.report("slow", f"{settings.slow_seconds}s")
            await asyncio.sleep(settings.slow_seconds)
        if "shift" in hits:
            faults.inserted[endpoint] += 1
            reporter.report("shift", f"inserted={faults.inserted[endpoint]}")
        inserted = faults.inserted[endpoint]
        offset = (page - 1) * size
        items = world.page(endpoint, offset, offset + size, inserted)
        if "duplicate" in hits and offset > 0:
            # The previous page's last record, served again on this one.
            items.insert(0, world.page(endpoint, offset - 1, offset, inserted)[0])
            reporter.report("duplicate")
        if "bad_record" in hits:
            faults.corrupt(endpoint, items, reporter)
        total = world.size(endpoint) + inserted
        body = encode({"items": items, "total": total, "page": page, "size": size, "pages": math.ceil(total / size)})
        if "truncate" in hits:
            reporter.report("truncate", f"{len(body) // 2}/{len(body)}")
            return Response(body[: len(body) // 2], media_type="application/json")
        if "drop" in hits:
            reporter.report("drop", f"{len(body) // 2}/{len(body)}")
            return DroppedResponse(body, media_type="application/json")
        return Response(body, media_type="application/json")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(url="/docs", status_code=307)

    @app.get("/tracks", response_model=MooPage[Track])
    async def tracks(request: Request) -> Any:
        return await listing("tracks", request)

    @app.get("/users", response_model=MooPage[User])
    async def users(request: Request) -> Any:
        return await listing("users", request)

    @app.get("/listen_history", response_model=MooPage[ListenHistory])
    async def listen_history(request: Request) -> Any:
        return await listing("listen_history", request)

    add_pagination(app)
    return app


def _refusal(hits: set[str], reporter: Reporter, settings: Settings) -> Response | None:
    """The faults that answer instead of the page (first match wins)."""
    if "http_429" in hits:
        reporter.report("http_429", f"retry_after={settings.retry_after}")
        return JSONResponse(
            {"detail": "Too Many Requests"}, status_code=429, headers={"Retry-After": str(settings.retry_after)}
        )
    if "http_503" in hits:
        reporter.report("http_503")
        return PlainTextResponse("Service Unavailable", status_code=503)
    if "http_500" in hits:
        reporter.report("http_500")
        return PlainTextResponse("Internal Server Error", status_code=500)
    return None
