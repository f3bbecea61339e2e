"""The ``@connections`` management API (POST, GET, DELETE), answering with the status codes,
``x-amzn-ErrorType`` headers and JSON bodies botocore's service model expects. The rules live
in ``core.management``; the sockets are ``WebSocketApi``'s."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

from aiohttp import web

from local_stack.emulator.core.access import check_signature
from local_stack.emulator.core.close_reasons import DELETED
from local_stack.emulator.core.management import (
    FORBIDDEN,
    GONE,
    LIMIT_EXCEEDED,
    ApiError,
    check_connection,
    check_post,
    connection_info,
)
from local_stack.emulator.core.sources import ConnectionId
from local_stack.emulator.settings import EmulatorSettings
from local_stack.emulator.websocket_api import CLIENT_BUFFER_LIMIT, WebSocketApi


def _api_response(
    status: int, body: bytes | None = None, error_type: str | None = None
) -> web.Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, body=body, headers=headers, content_type="application/json")


def _api_error(error: ApiError) -> web.Response:
    return _api_response(error.status, error.body(), error.error_type)


class ManagementApi:
    """``/<stage>/@connections/{connection_id}``: posts to, reads and deletes connections."""

    def __init__(
        self,
        settings: EmulatorSettings,
        sockets: WebSocketApi,
        *,
        rng: random.Random,
        counters: Counter[str],
    ) -> None:
        self.settings = settings
        self.counters = counters
        self._sockets = sockets
        self._rng = rng

    async def handle(self, request: web.Request) -> web.Response:
        """One ``@connections`` call: POST, GET or DELETE on a connection."""
        refusal = await self._gate(request)
        if refusal is not None:
            return refusal
        cid = ConnectionId(request.match_info["connection_id"])
        if request.method == "POST":
            self.counters["posts"] += 1
            error = await self._post(cid, await request.read())
            if error is not None:
                self.counters[f"post_{error.status}"] += 1
                return _api_error(error)
            return _api_response(200, b"")
        if request.method in {"GET", "DELETE"}:
            return self._get_or_delete(cid, request.method)
        return _api_error(FORBIDDEN)

    def _get_or_delete(self, cid: ConnectionId, method: str) -> web.Response:
        connection = self._sockets.registry.get(cid)
        if connection is None or check_connection(connection) is not None:
            return _api_error(GONE)
        if method == "GET":
            return web.json_response(
                connection_info(connection), headers={"x-amzn-RequestId": str(uuid.uuid4())}
            )
        self._sockets.server_close(cid, DELETED)
        self.counters["deleted"] += 1
        return _api_response(204)

    async def _gate(self, request: web.Request) -> web.Response | None:
        """What comes before the operation: the signature check, then injected faults."""
        refused = check_signature(request.headers.get("Authorization"), self.settings.region)
        if refused is not None:
            return _api_error(refused)  # API Gateway refuses unsigned calls first
        if not self.settings.faults.active:
            return None
        delay, injected = self.settings.faults.draw(self._rng)
        if delay > 0:
            await asyncio.sleep(delay)
        if injected is None:
            return None
        self.counters[f"injected_{injected.status}"] += 1
        return _api_error(injected)

    async def _post(self, cid: ConnectionId, data: bytes) -> ApiError | None:
        """Deliver one post as one message; the error to answer with, if any."""
        error = check_post(self._sockets.registry.get(cid), len(data))
        if error is not None:
            return error
        socket = self._sockets.socket(cid)
        if socket is None:
            return GONE  # accepted, but the upgrade has not finished
        transport = socket.transport
        if transport is not None and (
            transport.get_write_buffer_size() + len(data) > CLIENT_BUFFER_LIMIT
        ):
            self.counters["client_buffer_full"] += 1
            return LIMIT_EXCEEDED
        try:
            frame: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            frame = data
        if not await self._sockets.send(cid, frame):
            return GONE
        self._sockets.registry.touch(cid)  # a message to the client is activity too (see touch)
        return None
