"""The I/O layer of the emulator: one aiohttp application on one port.

- ``GET /<stage>`` with an upgrade: the WebSocket API. ``$connect`` runs before the 101, and
  its answer decides the handshake; the client's frames are screened by API Gateway's rules
  (``frames.FrameScreen``), then every message is routed and invoked concurrently, as API
  Gateway does; ``$disconnect`` fires once when either side closes.
- ``/<stage>/@connections/{id}``: the management API (POST, GET, DELETE), answering with the
  status codes, ``x-amzn-ErrorType`` headers and JSON bodies botocore's service model expects.
- ``GET /...``: the static site, if one is given.

The rules (who may be posted to, what an event holds, what the client gets) live in ``core``;
this module only moves bytes and schedules work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import WSMessage, WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from local_stack.emulator.authorization import (
    MISSING_IDENTITY,
    Authorization,
    check_identity_source,
    decide_authorization,
    identity_values,
    method_arn,
)
from local_stack.emulator.core.access import check_signature, host_allowed
from local_stack.emulator.core.close_reasons import (
    ABNORMAL,
    DELETED,
    MESSAGE_TOO_BIG,
    SHUTDOWN,
    UNSUPPORTED_DATA,
    CloseReason,
    client_close,
)
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.events import EventBuilder, gateway_headers, trace_id
from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.core.management import (
    FORBIDDEN,
    GONE,
    LIMIT_EXCEEDED,
    ApiError,
    check_connection,
    check_post,
    connection_info,
)
from local_stack.emulator.core.quotas import (
    IDLE_TIMEOUT_S,
    INTEGRATION_TIMEOUT_S,
    MAX_CONNECTION_S,
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
from local_stack.emulator.core.routes import (
    CONNECT_ROUTE,
    DEFAULT_ROUTE_SELECTION_EXPRESSION,
    RESERVED_ROUTES,
    RouteSelector,
)
from local_stack.emulator.core.sockets import ClientSocket, SocketRegistry
from local_stack.emulator.core.sources import Clock, ConnectionId, IdSource, new_aws_id
from local_stack.emulator.core.throttling import StageThrottling, Throttle
from local_stack.emulator.frames import FrameScreen, encode_message
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.site import Site, SiteTemplateError

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
_STAGE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SHUTDOWN_CLOSE_TIMEOUT_S: Final = 1.0


@dataclass(frozen=True)
class AuthorizerSettings:
    """A Lambda REQUEST authorizer on ``$connect`` (``authorization`` has the rules).

    ``identity_sources`` are in API Gateway's syntax, e.g.
    ``("route.request.header.Sec-WebSocket-Protocol",)`` or
    ``("route.request.querystring.token",)``: a handshake missing one is refused with 401
    before the authorizer runs.
    """

    function: FunctionSettings
    identity_sources: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity_sources", tuple(self.identity_sources))
        if not self.identity_sources:
            raise EmulatorConfigError("an authorizer needs at least one identity source")
        for source in self.identity_sources:
            check_identity_source(source)


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulated WebSocket API is configured."""

    stage: str = "local"
    api_id: str = "loca1stack"
    region: str = "us-east-1"
    """The region ``@connections`` signatures must name (the function's)."""
    route_selection_expression: str = DEFAULT_ROUTE_SELECTION_EXPRESSION
    routes: frozenset[str] = RESERVED_ROUTES
    """The API's route keys; an application adds its own (the chat's: ``stack.CHAT_ROUTES``)."""
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_connection_s: float = MAX_CONNECTION_S
    integration_timeout_s: float = INTEGRATION_TIMEOUT_S
    """How long API Gateway waits for an integration, whatever the function's own timeout."""
    heartbeat_s: float | None = None
    """A test-only switch: WebSocket pings at this interval. API Gateway sends none, so a client
    that vanishes without a close frame or a TCP reset is only found by the idle timeout or a
    post; keep it None unless a test is about pings."""
    faults: FaultInjection = field(default_factory=FaultInjection)
    disconnect_loss_rate: float = 0.0
    """Fraction of ``$disconnect`` events dropped (API Gateway delivers them best-effort)."""
    seed: int | None = None
    """Seeds the random choices of fault injection and event loss, for repeatable runs."""
    throttling: Throttle | None = None
    """The stage's default route throttling (rate and burst, a token bucket per route); None,
    the default, throttles nothing, as a new stage on AWS has no limit of its own (only the
    account's 10,000 requests per second, which no local run reaches)."""
    route_throttling: Mapping[str, Throttle] = field(default_factory=dict)
    """Per-route throttling over ``throttling`` (``$connect`` and message routes; ``$disconnect``
    is never throttled here). A throttled ``$connect`` is refused with 429; a throttled message
    gets the ``Too Many Requests`` frame and never reaches the integration."""
    authorizer: AuthorizerSettings | None = None
    """A Lambda REQUEST authorizer on ``$connect``; None (the default) lets everyone in. The
    emulator's owner runs the function and passes its invoker as ``Emulator(authorize=...)``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", frozenset(self.routes))  # any iterable of route keys
        if not _STAGE.fullmatch(self.stage):
            raise EmulatorConfigError(f"stage {self.stage!r} must be 1-128 of A-Z a-z 0-9 _ -")
        if not 0.0 <= self.disconnect_loss_rate <= 1.0:
            raise EmulatorConfigError("disconnect_loss_rate must be in [0, 1]")
        if self.integration_timeout_s <= 0:
            raise EmulatorConfigError("integration_timeout_s must be a positive number of seconds")
        object.__setattr__(self, "route_throttling", dict(self.route_throttling))
        unknown = set(self.route_throttling) - set(self.routes)
        if unknown:
            raise EmulatorConfigError(f"route_throttling names unknown route(s) {sorted(unknown)}")


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None


class _ScreenedParser:
    """Feeds aiohttp's WebSocket parser only what ``FrameScreen`` lets through."""

    def __init__(self, parser: Any, screen: FrameScreen, refused: Callable[[], object]) -> None:
        self._parser = parser
        self._screen = screen
        self._refused = refused
        self._reported = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        passed = self._screen.feed(bytes(data))
        if self._screen.violation is not None and not self._reported:
            self._reported = True
            asyncio.get_running_loop().call_soon(self._refused)
        if not passed:
            return False, b""
        result: tuple[bool, bytes] = self._parser.feed_data(passed)
        return result

    def feed_eof(self) -> None:
        self._parser.feed_eof()


class _GatewayWebSocket(web.WebSocketResponse):
    """aiohttp's server socket with API Gateway's frame screen in front of its parser."""

    def __init__(self, screen: FrameScreen, refused: Callable[[], object], **options: Any) -> None:
        super().__init__(**options)
        self._screen = screen
        self._refused = refused

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        # aiohttp has no public hook between the byte stream and its parser; the parser it just
        # installed is wrapped in place. Pinned by the frame tests in test_websocket.py.
        handler: Any = request.protocol
        handler._payload_parser = _ScreenedParser(
            handler._payload_parser, self._screen, self._refused
        )


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


def _close_reason(message: WSMessage) -> CloseReason | None:
    """Why the socket ended, from the message that ended it; None when we closed it."""
    if message.type is WSMsgType.CLOSE:
        return client_close(int(message.data), str(message.extra or ""))
    if message.type is WSMsgType.ERROR and isinstance(message.data, WebSocketError):
        if message.data.code == MESSAGE_TOO_BIG.code:
            return MESSAGE_TOO_BIG
        return CloseReason(message.data.code, str(message.data))
    return None  # CLOSING (we closed it), CLOSED or ERROR (the connection was lost): ABNORMAL


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
        site: Site | None = None,
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
        self.site = site
        self.registry = SocketRegistry(
            clock=clock,
            new_id=new_id,
            idle_timeout_s=settings.idle_timeout_s,
            max_connection_s=settings.max_connection_s,
        )
        self.selector = RouteSelector(settings.route_selection_expression, settings.routes)
        self.events = EventBuilder(settings.api_id, settings.stage, clock)
        self.throttling = StageThrottling(settings.throttling, settings.route_throttling, clock)
        self.counters: Counter[str] = Counter()
        self._invoke = invoke
        self._authorize = authorize
        self._method_arn = method_arn(settings.region, settings.api_id, settings.stage)
        self._clock = clock
        self._new_id = new_id
        self._rng = random.Random(settings.seed)  # noqa: S311 -- test faults, not secrets
        self._sockets: dict[ConnectionId, _Socket] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def application(self) -> web.Application:
        """The aiohttp application serving the WebSocket API, ``@connections`` and the site."""
        stage = self.settings.stage
        # Large enough that an oversized post reaches our 413, not aiohttp's.
        app = web.Application(client_max_size=16 * MESSAGE_LIMIT_BYTES, middlewares=[own_host_only])
        app.router.add_get(f"/{stage}", self._websocket)
        app.router.add_route("*", f"/{stage}/@connections/{{connection_id}}", self._management_api)
        app.router.add_get("/{path:.*}", self._site)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    def open_connection_ids(self) -> list[ConnectionId]:
        """The ids of every open connection."""
        return self.registry.open_ids()

    def close_connection(self, connection_id: str, why: CloseReason = DELETED) -> bool:
        """Close a connection from the server side, as ``DELETE @connections`` does."""
        return self._server_close(ConnectionId(connection_id), why)

    # ------------------------------------------------------------------ WebSocket API

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
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
        ws = _GatewayWebSocket(
            screen,
            lambda: self._server_close(cid, screen.violation or MESSAGE_TOO_BIG),
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
            # Our own limit on unsent bytes: above it a post is refused with 429 (see _post).
            request.transport.set_write_buffer_limits(high=CLIENT_BUFFER_LIMIT)
        self._sockets[cid] = _Socket(ws, request.transport)
        why = ABNORMAL
        try:
            while True:
                message = await ws.receive()
                if message.type is WSMsgType.TEXT:
                    self.registry.touch(cid)
                    self._spawn(self._on_frame(connection, message.data))
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
            self._spawn(socket.ws.close())
        connection = self.registry.close(cid, why)
        if connection is not None:  # None: the server closed it first and fired $disconnect
            self._spawn(self._disconnect(connection, why))

    def _server_close(self, cid: ConnectionId, why: CloseReason) -> bool:
        connection = self.registry.close(cid, why)
        if connection is None:
            return False
        socket = self._sockets.get(cid)
        if socket is not None:
            self._spawn(socket.ws.close(code=why.code, message=why.reason.encode()))
        self._spawn(self._disconnect(connection, why))
        return True

    async def _on_frame(self, connection: ClientSocket, data: str) -> None:
        # A frame received before a close is still routed, as API Gateway does.
        cid = connection.connection_id
        request_id = self._new_id()
        route = self.selector.select(data)
        self.counters["frames"] += 1
        if route is None:
            await self._send(cid, forbidden_frame(cid, request_id))
            return
        if not self.throttling.allow(route):
            self.counters["throttled"] += 1
            await self._send(cid, throttled_frame(cid, request_id))
            return
        event = self.events.message(
            connection, route, data, request_id=request_id, message_id=self._new_id()
        )
        reply = message_reply(await self._integrate(event), cid, request_id)
        if reply is not None:
            self.counters["integration_errors"] += 1
            await self._send(cid, reply)

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

    async def _send(self, cid: ConnectionId, data: str | bytes) -> bool:
        """Send one message in frames of at most 32 KB, as API Gateway frames it."""
        socket = self._sockets.get(cid)
        if socket is None or socket.ws.closed or socket.transport is None:
            return False
        if socket.transport.is_closing():
            return False
        payload = data.encode("utf-8") if isinstance(data, str) else data
        # One write of the whole message: no other frame can land between its fragments. No
        # wait for the reader either; _post refuses with 429 past CLIENT_BUFFER_LIMIT instead.
        socket.transport.write(encode_message(fragments(payload), text=isinstance(data, str)))
        return True

    # ------------------------------------------------------------------ @connections

    async def _management_api(self, request: web.Request) -> web.Response:
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
        connection = self.registry.get(cid)
        if connection is None or check_connection(connection) is not None:
            return _api_error(GONE)
        if method == "GET":
            return web.json_response(
                connection_info(connection), headers={"x-amzn-RequestId": str(uuid.uuid4())}
            )
        self._server_close(cid, DELETED)
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
        error = check_post(self.registry.get(cid), len(data))
        if error is not None:
            return error
        socket = self._sockets.get(cid)
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
        if not await self._send(cid, frame):
            return GONE
        self.registry.touch(cid)  # a message to the client is activity too (see touch)
        return None

    # ------------------------------------------------------------------ site

    async def _site(self, request: web.Request) -> web.StreamResponse:
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

    # ------------------------------------------------------------------ lifecycle

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
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
                self._server_close(cid, why)

    async def _on_startup(self, _app: web.Application) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _on_shutdown(self, _app: web.Application) -> None:
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
