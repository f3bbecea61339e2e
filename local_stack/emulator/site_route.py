"""``GET /...``: the static site (``local_stack.site``), when the emulator is given one."""

from __future__ import annotations

import logging

from aiohttp import web

from local_stack.site import Site, SiteTemplateError

log = logging.getLogger(__name__)


class SiteRoute:
    """Serves the site's files, rendered, with ``Cache-Control: no-cache``."""

    def __init__(self, site: Site | None) -> None:
        self.site = site

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A page of the site, or 404."""
        if self.site is None:
            raise web.HTTPNotFound()
        try:
            found = self.site.lookup(request.path)
        except SiteTemplateError as exc:
            log.error("%s", exc)
            return web.Response(status=500, text=str(exc))
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=found.body,
            headers={"Content-Type": found.content_type, "Cache-Control": "no-cache"},
        )
