"""The I/O layer of the emulator: one aiohttp application on one port, composed here.

- ``GET /<stage>`` with an upgrade: the WebSocket API (``websocket_api.WebSocketApi``).
  ``$connect`` runs before the 101, and its answer decides the handshake; the client's frames
  are screened by API Gateway's rules (``websocket_frames.FrameScreen``, hooked into aiohttp's
  parser by ``parser_hook``), then every message is routed and invoked concurrently, as API
  Gateway does; ``$disconnect`` fires once when either side closes.
- ``/<stage>/@connections/{id}``: the management API (``management_api.ManagementApi``: POST,
  GET, DELETE), answering with the status codes, ``x-amzn-ErrorType`` headers and JSON bodies
  botocore's service model expects.
- ``GET /...``: the static site, if one is given (``site_route.SiteRoute``).

``settings`` holds ``EmulatorSettings``. The rules (who may be posted to, what an event holds,
what the client gets) live in ``core``; these modules only move bytes and schedule work.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from aiohttp import web

from local_stack.emulator.core.access import host_allowed
from local_stack.emulator.core.close_reasons import DELETED, CloseReason
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.quotas import MESSAGE_LIMIT_BYTES
from local_stack.emulator.core.sources import Clock, ConnectionId, IdSource, new_aws_id
from local_stack.emulator.management_api import ManagementApi
from local_stack.emulator.settings import EmulatorSettings
from local_stack.emulator.site_route import Pages, SiteRoute
from local_stack.emulator.websocket_api import Invoker, WebSocketApi


@web.middleware
async def own_host_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse requests whose ``Host`` is not this server's loopback address: a page on
    another site that rebinds its own name to 127.0.0.1 cannot reach the emulator (nor the
    local OpenID Connect issuer, which uses this middleware too)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = int(sockname[1]) if sockname else -1
    if not host_allowed(request.headers.get("Host"), port):
        return web.Response(status=403, text="Forbidden: this server answers only its own address")
    response: web.StreamResponse = await handler(request)
    return response


class Emulator:
    """An API Gateway WebSocket API in front of one integration; mount with ``application()``."""

    def __init__(
        self,
        settings: EmulatorSettings,
        invoke: Invoker,
        *,
        site: Pages | None = None,
        clock: Clock = time.time,
        new_id: IdSource = new_aws_id,
        authorize: Invoker | None = None,
    ) -> None:
        if (settings.authorizer is None) != (authorize is None):
            raise EmulatorConfigError(
                "EmulatorSettings.authorizer and the authorize invoker go together: give both "
                "or neither"
            )
        self.settings = settings
        self.counters: Counter[str] = Counter()
        rng = random.Random(settings.seed)  # noqa: S311 -- test faults, not secrets
        self.websocket_api = WebSocketApi(
            settings,
            invoke,
            clock=clock,
            new_id=new_id,
            authorize=authorize,
            rng=rng,
            counters=self.counters,
        )
        self.management_api = ManagementApi(
            settings, self.websocket_api, rng=rng, counters=self.counters
        )
        self.site_route = SiteRoute(site)

    def application(self) -> web.Application:
        """The aiohttp application serving the WebSocket API, ``@connections`` and the site."""
        stage = self.settings.stage
        # Large enough that an oversized post reaches our 413, not aiohttp's.
        app = web.Application(client_max_size=16 * MESSAGE_LIMIT_BYTES, middlewares=[own_host_only])
        app.router.add_get(f"/{stage}", self.websocket_api.handle)
        app.router.add_route(
            "*", f"/{stage}/@connections/{{connection_id}}", self.management_api.handle
        )
        app.router.add_get("/{path:.*}", self.site_route.handle)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    def open_connection_ids(self) -> list[ConnectionId]:
        """The ids of every open connection."""
        return self.websocket_api.registry.open_ids()

    def close_connection(self, connection_id: str, why: CloseReason = DELETED) -> bool:
        """Close a connection from the server side, as ``DELETE @connections`` does."""
        return self.websocket_api.server_close(ConnectionId(connection_id), why)

    async def _on_startup(self, _app: web.Application) -> None:
        await self.websocket_api.start()

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self.websocket_api.stop()
