"""``GET /...``: the pages served beside the API, when the emulator is given some.

The local stack gives it ``local_stack.site.Site`` (``frontend/`` as Terraform publishes it).
The emulator knows pages only through the ``Pages`` port: the site's variables are the chat's,
and the emulator imports nothing of the chat (``emulator/test_boundary.py``).
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

log = logging.getLogger(__name__)


class Page(Protocol):
    """One published file (``local_stack.site.SiteFile``)."""

    @property
    def body(self) -> bytes:
        """The bytes served."""
        ...

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` served."""
        ...


class Pages(Protocol):
    """Where pages come from (``local_stack.site.Site``)."""

    def lookup(self, url_path: str) -> Page | None:
        """The page published at ``url_path``, or None; raises ``ValueError`` (the site's
        ``SiteTemplateError``) for one that cannot be rendered."""
        ...


class SiteRoute:
    """Serves the pages, with ``Cache-Control: no-cache``."""

    def __init__(self, site: Pages | None) -> None:
        self.site = site

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A page of the site, or 404; 500 with the reason for one that cannot be rendered."""
        if self.site is None:
            raise web.HTTPNotFound()
        try:
            found = self.site.lookup(request.path)
        except ValueError as exc:
            log.error("%s", exc)
            return web.Response(status=500, text=str(exc))
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=found.body,
            headers={"Content-Type": found.content_type, "Cache-Control": "no-cache"},
        )
