"""A fake MooVitamix API for requests-mock, shaped like the contract's page envelope."""

from __future__ import annotations

import math
import typing as t

if t.TYPE_CHECKING:
    import requests_mock

API_URL = "http://moovitamix.test"

# Sentinel: serve the envelope without a `pages` key at all.
OMIT = object()


def make_tracks(count: int) -> list[dict[str, t.Any]]:
    """Return `count` tracks with distinct, increasing ids."""
    return [
        {
            "id": 1000 + n,
            "name": f"track {n}",
            "artist": "Terry Ross",
            "songwriters": "Kayla Mcguire",
            "duration": "03:22",
            "genres": "ball",
            "album": "light",
            "created_at": "2025-08-14T01:09:40.772037",
            "updated_at": "2026-11-02T15:15:59.147915",
        }
        for n in range(count)
    ]


def make_users(count: int) -> list[dict[str, t.Any]]:
    """Return `count` users with distinct, increasing ids."""
    return [
        {
            "id": 5000 + n,
            "first_name": "Renee",
            "last_name": "Garrett",
            "email": f"user{n}@example.net",
            "gender": "Genderfluid",
            "favorite_genres": "Alternative",
            "created_at": "2026-06-27T04:01:03.208389",
            "updated_at": "2026-07-09T07:47:20.375868",
        }
        for n in range(count)
    ]


def make_listen_history(count: int) -> list[dict[str, t.Any]]:
    """Return `count` listen histories, one per user id."""
    return [
        {
            "user_id": 5000 + n,
            "items": [1000 + n, 1001 + n, 1002 + n, 1003 + n, 1004 + n],
            "created_at": "2025-08-25T04:58:56.421408",
            "updated_at": "2025-10-10T20:54:58.687567",
        }
        for n in range(count)
    ]


def serve(
    mocker: requests_mock.Mocker,
    path: str,
    records: list[dict[str, t.Any]],
    *,
    pages: int | object | None = None,
    api_url: str = API_URL,
) -> None:
    """Serve `records` at `api_url + path`, paginated by the request's `page` and `size`.

    `pages=None` announces the true page count; an int announces that (possibly wrong)
    count instead; `OMIT` leaves the key out of the envelope.
    """

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs.get("page", ["1"])[0])
        size = int(request.qs.get("size", ["100"])[0])
        body: dict[str, t.Any] = {
            "items": records[(page - 1) * size : page * size],
            "total": len(records),
            "page": page,
            "size": size,
        }
        if pages is None:
            body["pages"] = math.ceil(len(records) / size)
        elif pages is not OMIT:
            body["pages"] = pages
        return body

    mocker.get(f"{api_url}{path}", json=page_of)


def requested_pages(mocker: requests_mock.Mocker, path: str) -> list[int]:
    """Return the `page` parameter of every request made to `path`, sorted.

    Sorted because pages after the first are fetched concurrently: requests go out in
    any order (records still come out in page order).
    """
    return sorted(
        int(request.qs["page"][0]) for request in mocker.request_history if request.path == path
    )


def requested_sizes(mocker: requests_mock.Mocker, path: str) -> list[int]:
    """Return the `size` parameter of every request made to `path`, in order."""
    return [
        int(request.qs["size"][0]) for request in mocker.request_history if request.path == path
    ]


def serve_all(mocker: requests_mock.Mocker, count: int = 5, **changes: t.Any) -> None:
    """Serve every endpoint: `count` records each, or the list given by endpoint name."""
    serve(mocker, "/tracks", changes.get("tracks", make_tracks(count)))
    serve(mocker, "/users", changes.get("users", make_users(count)))
    serve(mocker, "/listen_history", changes.get("listen_history", make_listen_history(count)))


def page_json(items: list[dict], *, total: int, pages: int, page: int = 1) -> dict[str, t.Any]:
    """Return one page envelope as the API serves it (pages of 100)."""
    return {"items": items, "total": total, "page": page, "size": 100, "pages": pages}


def shifting(records: list[dict], *, shifts: int) -> t.Callable[..., dict[str, t.Any]]:
    """Serve `records`; insert a record at the front after page 1, `shifts` times."""
    state = {"data": list(records), "left": shifts, "next_id": 90000}

    def page_of(request: t.Any, context: t.Any) -> dict[str, t.Any]:  # noqa: ARG001
        page = int(request.qs["page"][0])
        data = state["data"]
        body = page_json(
            data[(page - 1) * 100 : page * 100],
            total=len(data),
            pages=-(-len(data) // 100),
            page=page,
        )
        if page == 1 and state["left"]:
            state["left"] -= 1
            new = {**data[0], "id": state["next_id"]}
            state["next_id"] += 1
            state["data"] = [new, *data]
        return body

    return page_of
