"""Base REST stream shared by every MooVitamix endpoint."""

from __future__ import annotations

import typing as t

from singer_sdk.streams import RESTStream

from tap_moovitamix.pagination import MoovitamixPaginator

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class MoovitamixStream(RESTStream[int]):
    """One paginated, unauthenticated GET endpoint of the MooVitamix API."""

    # Every endpoint wraps its records in a fastapi-pagination envelope.
    records_jsonpath = "$.items[*]"

    # No server-side filter exists, so every sync reads every page (FULL_TABLE).
    replication_key = None

    @property
    def url_base(self) -> str:
        """Return the API root from the `api_url` setting.

        Stream paths start with "/", so a trailing slash on the setting is dropped
        rather than producing `//tracks`.
        """
        return str(self.config["api_url"]).rstrip("/")

    def get_new_paginator(self) -> MoovitamixPaginator:
        """Return a fresh paginator starting at page 1 for each sync."""
        return MoovitamixPaginator()

    def get_url_params(
        self,
        context: Context | None,  # noqa: ARG002 - no partitions on this API
        next_page_token: int | None,
    ) -> dict[str, t.Any]:
        """Ask for page `next_page_token` with `page_size` records per page."""
        return {
            "page": next_page_token,
            "size": self.config["page_size"],
        }
