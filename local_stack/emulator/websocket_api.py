"""The WebSocket API's client side, over aiohttp: the handshake, the client's frames screened by
API Gateway's rules (``websocket_frames.FrameScreen``) and then routed and invoked concurrently,
as API Gateway does, and ``$disconnect`` once when either side closes. The rules live in
``core``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import WSMessage, WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from local_stack.emulator.authorization import (
    MISSING_IDENTITY,
    Authorization,
    decide_authorization,
    identity_values,
    method_arn,
)
from local_stack.emulator.core.close_reasons import (
    ABNORMAL,
    MESSAGE_TOO_BIG,
    SHUTDOWN,
    UNSUPPORTED_DATA,
    CloseReason,
    client_close,
)
from local_stack.emulator.core.events import EventBuilder, gateway_headers, trace_id
from local_stack.emulator.core.quotas import (
    MESSAGE_LIMIT_BYTES,
    fragments,
    judge_client_frame,
    url_too_long,
)
from local_stack.emulator.core.responses import (
    ConnectDecision,
    IntegrationResult,
    IntegrationTimedOut,
    InvocationFailed,
    InvocationResult,
    decide_connect,
    forbidden_frame,
    message_reply,
    throttled_frame,
)
from local_stack.emulator.core.routes import CONNECT_ROUTE, RouteSelector
from local_stack.emulator.core.sockets import ClientSocket, SocketRegistry
from local_stack.emulator.core.sources import Clock, ConnectionId, IdSource
from local_stack.emulator.core.throttling import StageThrottling
from local_stack.emulator.parser_hook import GatewayWebSocket
from local_stack.emulator.settings import EmulatorSettings
from local_stack.emulator.websocket_frames import FrameScreen, encode_message

log = logging.getLogger(__name__)


class _OfferedProtocolsHidden(logging.Filter):
    """aiohttp warns with the client's whole subprotocol list when ``$connect`` selected none
    of them; a sign-in token travels in that list (docs/protocol.md, "Signing in"), and no log
    line of ours may carry a token, so the list is replaced by its length."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Client protocols" in str(record.msg) and isinstance(record.args, tuple):
            args = list(record.args)
            if len(args) > 1 and isinstance(args[1], list):
                args[1] = f"<{len(args[1])} offered, not shown>"
                record.args = tuple(args)
        return True


logging.getLogger("aiohttp.websocket").addFilter(_OfferedProtocolsHidden())

Invoker = Callable[[Mapping[str, Any]], Awaitable[InvocationResult]]
"""Runs the integration for one event (``LambdaRuntime.invoke``)."""

# A client that stops reading: past this many unsent bytes, PostToConnection answers 429
# ("the WebSocket client side buffer is full", the service model's LimitExceededException).
CLIENT_BUFFER_LIMIT: Final = 4 * 1024 * 1024
_SHUTDOWN_CLOSE_TIMEOUT_S: Final = 1.0


@dataclass
class OpenSocket:
    """An upgraded client socket and its transport (None once the client is gone)."""

    ws: web.WebSocketResponse
    transport: asyncio.Transport | None


def _close_reason(message: WSMessage) -> CloseReason | None:
    """Why the socket ended, from the message that ended it; None when we closed it."""
    if message.type is WSMsgType.CLOSE:
        return client_close(int(message.data), str(message.extra or ""))
    if message.type is WSMsgType.ERROR and isinstance(message.data, WebSocketError):
        if message.data.code == MESSAGE_TOO_BIG.code:
            return MESSAGE_TOO_BIG
        return CloseReason(message.data.code, str(message.data))
    return None  # CLOSING (we closed it), CLOSED or ERROR (the connection was lost): ABNORMAL


class WebSocketApi:
    """The client side of the API: the handshake (``$connect`` decides it), every client
    frame routed and invoked concurrently, ``$disconnect`` once when either side closes, and
    the sockets' deadlines. ``send`` and ``server_close`` are what ``@connections`` drives."""

    def __init__(
        self,
        settings: EmulatorSettings,
        invoke: Invoker,
        *,
        clock: Clock,
        new_id: IdSource,
        authorize: Invoker | None,
        rng: random.Random,
        counters: Counter[str],
    ) -> None:
        self.settings = settings
        self.registry = SocketRegistry(
            clock=clock,
            new_id=new_id,
            idle_timeout_s=settings.idle_timeout_s,
            max_connection_s=settings.max_connection_s,
        )
        self.selector = RouteSelector(settings.route_selection_expression, settings.routes)
        self.events = EventBuilder(settings.api_id, settings.stage, clock)
        self.throttling = StageThrottling(settings.throttling, settings.route_throttling, clock)
        self.counters = counters
        self._invoke = invoke
        self._authorize = authorize
        self._method_arn = method_arn(settings.region, settings.api_id, settings.stage)
        self._clock = clock
        self._new_id = new_id
        self._rng = rng
        self._sockets: dict[ConnectionId, OpenSocket] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def socket(self, cid: ConnectionId) -> OpenSocket | None:
        """The upgraded socket of a connection, or None (unknown, or still in ``$connect``)."""
        return self._sockets.get(cid)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A WebSocket handshake: ``$connect`` decides it; then the socket's frames, routed."""
        # The probe offers the client's own subprotocols back, so aiohttp has nothing to warn
        # about (the answer that counts is $connect's, below).
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if not web.WebSocketResponse(protocols=offered).can_prepare(request).ok:
            return web.json_response({"message": "Upgrade Required"}, status=426)
        scheme = "wss" if request.secure else "ws"
        if url_too_long(f"{scheme}://{request.host}{request.path_qs}"):
            self.counters["refused"] += 1
            return web.json_response({"message": "URI Too Long"}, status=414)
        if not self.throttling.allow(CONNECT_ROUTE):
            self.counters["throttled"] += 1
            return web.json_response({"message": "Too Many Requests"}, status=429)
        connection, decision = await self._handshake(request)
        cid = connection.connection_id
        if not decision.accepted:
            self.registry.refuse(cid)
            self.counters["refused"] += 1
            return web.Response(status=decision.status, text=decision.body)
        protocol = next(
            (v for k, v in decision.headers.items() if k.lower() == "sec-websocket-protocol"), None
        )
        screen = FrameScreen(judge_client_frame)
        ws = GatewayWebSocket(
            screen,
            lambda: self.server_close(cid, screen.violation or MESSAGE_TOO_BIG),
            protocols=(protocol,) if protocol else (),
            heartbeat=self.settings.heartbeat_s,
            compress=False,  # API Gateway does not negotiate permessage-deflate
            # The screen enforces the quotas; this is aiohttp's own backstop above them.
            max_msg_size=MESSAGE_LIMIT_BYTES + 1,
        )
        self.registry.accept(cid)
        try:
            await ws.prepare(request)
        except (ConnectionError, RuntimeError):
            self._client_closed(cid, ABNORMAL)  # the client left while $connect ran
            raise
        if request.transport is not None:
            # Our own limit on unsent bytes: above it a post is refused with 429 (see
            # ManagementApi._post).
            request.transport.set_write_buffer_limits(high=CLIENT_BUFFER_LIMIT)
        self._sockets[cid] = OpenSocket(ws, request.transport)
        why = ABNORMAL
        try:
            while True:
                message = await ws.receive()
                if message.type is WSMsgType.TEXT:
                    self.registry.touch(cid)
                    self.spawn(self._on_frame(connection, message.data))
                    continue
                if message.type is WSMsgType.BINARY:  # the screen stops these; never routed
                    why = UNSUPPORTED_DATA
                    break
                why = _close_reason(message) or why
                break
        finally:
            self._client_closed(cid, why)
        return ws

    async def _handshake(self, request: web.Request) -> tuple[ClientSocket, ConnectDecision]:
        """Register the handshake and run ``$connect``; its answer decides the upgrade."""
        source_ip = request.remote or "127.0.0.1"
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        connection = self.registry.begin(
            source_ip=source_ip,
            user_agent=request.headers.get("User-Agent"),
            domain_name=request.host,
            headers=gateway_headers(
                request.headers.items(),
                source_ip=source_ip,
                port=int(sockname[1]) if sockname else 0,
                proto=request.scheme,
                trace_id=trace_id(self._clock()),
            ),
            query=request.query.items(),
        )
        self.counters["connect"] += 1
        try:
            authorization = await self._authorization(connection)
            if not authorization.allowed:
                self.counters[f"unauthorized_{authorization.status}"] += 1
                log.info(
                    "$connect of %s refused with %d: %s",
                    connection.connection_id,
                    authorization.status,
                    authorization.reason,
                )
                return connection, ConnectDecision(
                    False, authorization.status, {}, authorization.body
                )
            if self._authorize is not None:
                connection.authorizer = authorization.context
            result = await self._integrate(self.events.connect(connection, self._new_id()))
        except BaseException:  # cancelled (shutdown): forget the handshake
            self.registry.refuse(connection.connection_id)
            raise
        return connection, decide_connect(result)

    async def _authorization(self, connection: ClientSocket) -> Authorization:
        """Run the authorizer, as API Gateway does before ``$connect``; allowed without one."""
        settings = self.settings.authorizer
        if settings is None or self._authorize is None:
            return Authorization(True, 200)
        if identity_values(connection, settings.identity_sources) is None:
            return MISSING_IDENTITY  # refused without invoking the authorizer
        self.counters["authorizer"] += 1
        event = self.events.authorizer_request(connection, self._new_id(), self._method_arn)
        result = await self._integrate(event, self._authorize)
        return decide_authorization(result, self._method_arn)

    async def _integrate(
        self, event: Mapping[str, Any], invoke: Invoker | None = None
    ) -> IntegrationResult:
        """Invoke (the integration, or ``invoke``), waiting at most the integration timeout; a
        late invocation runs on unseen.

        As in Lambda: API Gateway gives up at its timeout, but the function is not stopped, and
        what it does afterwards (posts, writes) still happens.
        """

        function = invoke or self._invoke

        async def run() -> InvocationResult:
            return await function(event)

        invocation = asyncio.get_running_loop().create_task(run())
        self._tasks.add(invocation)
        invocation.add_done_callback(self._done)
        done, _ = await asyncio.wait({invocation}, timeout=self.settings.integration_timeout_s)
        if not done:
            self.counters["integration_timeouts"] += 1
            return IntegrationTimedOut()
        return invocation.result()

    def _client_closed(self, cid: ConnectionId, why: CloseReason) -> None:
        socket = self._sockets.pop(cid, None)
        if socket is not None and not socket.ws.closed:
            self.spawn(socket.ws.close())
        connection = self.registry.close(cid, why)
        if connection is not None:  # None: the server closed it first and fired $disconnect
            self.spawn(self._disconnect(connection, why))

    def server_close(self, cid: ConnectionId, why: CloseReason) -> bool:
        connection = self.registry.close(cid, why)
        if connection is None:
            return False
        socket = self._sockets.get(cid)
        if socket is not None:
            self.spawn(socket.ws.close(code=why.code, message=why.reason.encode()))
        self.spawn(self._disconnect(connection, why))
        return True

    async def _on_frame(self, connection: ClientSocket, data: str) -> None:
        # A frame received before a close is still routed, as API Gateway does.
        cid = connection.connection_id
        request_id = self._new_id()
        route = self.selector.select(data)
        self.counters["frames"] += 1
        if route is None:
            await self.send(cid, forbidden_frame(cid, request_id))
            return
        if not self.throttling.allow(route):
            self.counters["throttled"] += 1
            await self.send(cid, throttled_frame(cid, request_id))
            return
        event = self.events.message(
            connection, route, data, request_id=request_id, message_id=self._new_id()
        )
        reply = message_reply(await self._integrate(event), cid, request_id)
        if reply is not None:
            self.counters["integration_errors"] += 1
            await self.send(cid, reply)

    async def _disconnect(self, connection: ClientSocket, why: CloseReason) -> None:
        if self.settings.disconnect_loss_rate and (
            self._rng.random() < self.settings.disconnect_loss_rate
        ):
            self.counters["disconnect_lost"] += 1
            return
        self.counters["disconnect"] += 1
        result = await self._integrate(self.events.disconnect(connection, why, self._new_id()))
        if isinstance(result, InvocationFailed):
            log.warning("$disconnect of %s failed: %s", connection.connection_id, result.message)
        elif isinstance(result, IntegrationTimedOut):
            log.warning("$disconnect of %s timed out", connection.connection_id)

    async def send(self, cid: ConnectionId, data: str | bytes) -> bool:
        """Send one message in frames of at most 32 KB, as API Gateway frames it."""
        socket = self._sockets.get(cid)
        if socket is None or socket.ws.closed or socket.transport is None:
            return False
        if socket.transport.is_closing():
            return False
        payload = data.encode("utf-8") if isinstance(data, str) else data
        # One write of the whole message: no other frame can land between its fragments. No
        # wait for the reader either; ManagementApi._post refuses with 429 past
        # CLIENT_BUFFER_LIMIT instead.
        socket.transport.write(encode_message(fragments(payload), text=isinstance(data, str)))
        return True

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("emulator task failed", exc_info=task.exception())

    async def _sweep(self) -> None:
        interval = max(
            0.02, min(1.0, self.settings.idle_timeout_s / 4, self.settings.max_connection_s / 4)
        )
        while True:
            await asyncio.sleep(interval)
            for cid, why in self.registry.expired():
                self.server_close(cid, why)

    async def start(self) -> None:
        """Start the sweeper that closes idle and overdue connections."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        """Close every socket with 1001; no ``$disconnect``, since the stack is going away."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        sockets = list(self._sockets.items())
        for cid, _socket in sockets:
            self.registry.close(cid, SHUTDOWN)
        closing = [
            s.ws.close(code=SHUTDOWN.code, message=SHUTDOWN.reason.encode()) for _, s in sockets
        ]
        if closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*closing, return_exceptions=True), _SHUTDOWN_CLOSE_TIMEOUT_S
                )
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
