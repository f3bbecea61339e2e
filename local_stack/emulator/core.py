"""The sans-I/O core of the API Gateway WebSocket emulator.

Everything here is pure: no sockets, no event loop, no Lambda. Time comes from an injectable
``clock`` (epoch seconds) and ids from an injectable ``new_id``, so the rules can be tested with
fixed values. ``server.py`` moves the bytes and calls these functions.

- ``SocketRegistry``: every client socket's state (connecting -> open -> closed), activity,
  and the idle / maximum-duration deadlines. ``close()`` reports a connection exactly once,
  which is what makes ``$disconnect`` fire exactly once whichever side closes.
- ``RouteSelector``: the route selection expression (``$request.body.action``, nested paths
  such as ``$request.body.a.b``), the stringified value, and the ``$default`` fallback.
- Frame rules: ``judge_client_frame`` (binary frames, the 32 KB frame and 128 KB message
  quotas) and ``fragments`` (how a post is cut into frames of at most 32 KB).
- ``EventBuilder``: the events API Gateway sends to a Lambda proxy integration.
- Response rules: ``decide_connect`` (the ``$connect`` answer decides the handshake),
  ``message_reply``, ``forbidden_frame`` and ``timed_out_frame`` (the frames API Gateway itself
  sends), ``url_too_long``, and the
  ``@connections`` answers (``check_post``, ``check_connection``, ``connection_info``).
- ``FaultInjection``: optional delays and 429/500 answers on ``@connections``.
- ``StageThrottling``: stage and route throttling, a ``TokenBucket`` per route.

References are to the API Gateway developer guide, "WebSocket APIs" chapter.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, NewType

ConnectionId = NewType("ConnectionId", str)
Clock = Callable[[], float]
"""Returns the current time in epoch seconds (``time.time``)."""
IdSource = Callable[[], str]
"""Returns a fresh API Gateway-shaped id (``new_aws_id``)."""

CONNECT_ROUTE: Final = "$connect"
DISCONNECT_ROUTE: Final = "$disconnect"
DEFAULT_ROUTE: Final = "$default"
RESERVED_ROUTES: Final = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE})
DEFAULT_ROUTE_SELECTION_EXPRESSION: Final = "$request.body.action"

# "Quotas for configuring and running a WebSocket API in API Gateway". The quotas say "KB";
# we read KB as 1,024 bytes (a frame of 32,768 bytes passes, 32,769 closes), the reading the
# binary-minded WebSocket world takes, and the generous one: no client that AWS accepts is
# refused here, though one 1-2 % over a decimal 32,000 might be refused by AWS.
FRAME_LIMIT_BYTES: Final = 32 * 1024
MESSAGE_LIMIT_BYTES: Final = 128 * 1024
URL_LIMIT_CHARS: Final = 4096
INTEGRATION_TIMEOUT_S: Final = 29.0
IDLE_TIMEOUT_S: Final = 600.0
MAX_CONNECTION_S: Final = 7200.0

_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


class EmulatorConfigError(ValueError):
    """A setting of the emulator is invalid; the message says which and why."""


def new_aws_id(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh id shaped like API Gateway's connection and request ids (``L0SM9cOFvHcCIhw=``).

    11 random bytes in URL-safe base64: 16 characters ending in ``=``, never ``/`` or ``+``,
    so the id can go into a URL path as it is.
    """
    return base64.urlsafe_b64encode(token_bytes(11)).decode("ascii")


# --------------------------------------------------------------------------- sockets


class SocketState(Enum):
    """Where a connection is in its life."""

    CONNECTING = "connecting"  # $connect is running; @connections answers 410
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class CloseReason:
    """Why a connection closed: the status code and reason ``$disconnect`` reports."""

    code: int
    reason: str


# The close codes and reasons API Gateway reports in $disconnect, per cause.
NO_STATUS: Final = CloseReason(1005, "Client-side close frame status not set")
ABNORMAL: Final = CloseReason(1006, "Connection closed abnormally")
IDLE_TIMEOUT: Final = CloseReason(1001, "Going away")
MAX_DURATION: Final = CloseReason(1001, "Going away")
MESSAGE_TOO_BIG: Final = CloseReason(1009, "Message too big")
# "Working with binary media types for WebSocket APIs": a binary frame is rejected and the client
# disconnected with 1003. The reason text is ours (RFC 6455's name for 1003): AWS publishes none.
UNSUPPORTED_DATA: Final = CloseReason(1003, "Unsupported data")
# DeleteConnection's $disconnect as API Gateway's execution log shows it (aws/chalice#2060,
# boto/boto3#3789): status 1000, reason "Connection Closed Normally".
DELETED: Final = CloseReason(1000, "Connection Closed Normally")
SHUTDOWN: Final = CloseReason(1001, "Going away")


def client_close(code: int, reason: str) -> CloseReason:
    """The close reason for a close frame from the client (code 0: the frame had no status)."""
    if code == 0:
        return NO_STATUS
    return CloseReason(code, reason)


@dataclass
class ClientSocket:
    """One client socket as API Gateway sees it."""

    connection_id: ConnectionId
    connected_at: float
    source_ip: str
    user_agent: str | None
    domain_name: str
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    state: SocketState = SocketState.CONNECTING
    last_active_at: float = 0.0
    closed_by: CloseReason | None = None
    authorizer: Mapping[str, Any] | None = None
    """What an authorizer allowed the connection with (``requestContext.authorizer`` of every
    event of it); None when the API has no authorizer."""

    @property
    def connected_at_ms(self) -> int:
        """``requestContext.connectedAt``: fixed at connect, epoch milliseconds."""
        return int(self.connected_at * 1000)


class SocketRegistry:
    """All connections the emulator knows, with their state and deadlines."""

    def __init__(
        self,
        *,
        clock: Clock,
        new_id: IdSource,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connection_s: float = MAX_CONNECTION_S,
    ) -> None:
        if idle_timeout_s <= 0 or max_connection_s <= 0:
            raise EmulatorConfigError(
                "idle_timeout_s and max_connection_s must be positive numbers of seconds"
            )
        self._clock = clock
        self._new_id = new_id
        self.idle_timeout_s = idle_timeout_s
        self.max_connection_s = max_connection_s
        self._sockets: dict[ConnectionId, ClientSocket] = {}

    def begin(
        self,
        *,
        source_ip: str,
        user_agent: str | None,
        domain_name: str,
        headers: Iterable[tuple[str, str]] = (),
        query: Iterable[tuple[str, str]] = (),
    ) -> ClientSocket:
        """Register a handshake that is waiting for ``$connect``; returns it in CONNECTING."""
        connection_id = ConnectionId(self._new_id())
        while connection_id in self._sockets:  # astronomically unlikely, but cheap
            connection_id = ConnectionId(self._new_id())
        now = self._clock()
        connection = ClientSocket(
            connection_id=connection_id,
            connected_at=now,
            source_ip=source_ip,
            user_agent=user_agent,
            domain_name=domain_name,
            headers=tuple(headers),
            query=tuple(query),
            last_active_at=now,
        )
        self._sockets[connection_id] = connection
        return connection

    def accept(self, connection_id: ConnectionId) -> ClientSocket:
        """``$connect`` said yes and the socket is upgraded: the connection is OPEN."""
        connection = self._sockets[connection_id]
        if connection.state is not SocketState.CONNECTING:
            raise ValueError(f"connection {connection_id} is {connection.state.value}")
        connection.state = SocketState.OPEN
        connection.last_active_at = self._clock()
        return connection

    def refuse(self, connection_id: ConnectionId) -> None:
        """``$connect`` said no: forget the handshake (no ``$disconnect`` for it)."""
        connection = self._sockets.pop(connection_id, None)
        if connection is not None:
            connection.state = SocketState.CLOSED

    def touch(self, connection_id: ConnectionId) -> None:
        """A message went either way: the idle timer (and ``lastActiveAt``) starts over.

        The one place that decides what counts as activity. Both directions count: AWS's quota
        table says only "idle", and published runs show server posts alone keeping a connection
        open until the 2-hour limit (hotsock.io, "Keep Alive": a post every 9.5 minutes, then
        the forced disconnect at two hours). Pings are not messages and do not count.
        """
        connection = self._sockets.get(connection_id)
        if connection is not None and connection.state is SocketState.OPEN:
            connection.last_active_at = self._clock()

    def get(self, connection_id: str) -> ClientSocket | None:
        """The connection with that id in any live state, or None if unknown or closed."""
        return self._sockets.get(ConnectionId(connection_id))

    def open_connection(self, connection_id: str) -> ClientSocket | None:
        """The connection if it is OPEN (what ``@connections`` may talk to), else None."""
        connection = self._sockets.get(ConnectionId(connection_id))
        if connection is None or connection.state is not SocketState.OPEN:
            return None
        return connection

    def open_ids(self) -> list[ConnectionId]:
        """The ids of every OPEN connection."""
        return [c.connection_id for c in self._sockets.values() if c.state is SocketState.OPEN]

    def close(self, connection_id: ConnectionId, why: CloseReason) -> ClientSocket | None:
        """Close a connection; returns it the first time only, and only if it was OPEN.

        Whoever closes first (the client, ``DELETE @connections``, a timeout) records the
        reason; later calls return None, so ``$disconnect`` fires exactly once.
        """
        connection = self._sockets.get(connection_id)
        if connection is None:
            return None
        del self._sockets[connection_id]
        was_open = connection.state is SocketState.OPEN
        connection.state = SocketState.CLOSED
        connection.closed_by = why
        return connection if was_open else None

    def expired(self) -> list[tuple[ConnectionId, CloseReason]]:
        """OPEN connections past the idle timeout or the maximum duration, with the reason."""
        now = self._clock()
        due: list[tuple[ConnectionId, CloseReason]] = []
        for connection in self._sockets.values():
            if connection.state is not SocketState.OPEN:
                continue
            if now - connection.connected_at >= self.max_connection_s:
                due.append((connection.connection_id, MAX_DURATION))
            elif now - connection.last_active_at >= self.idle_timeout_s:
                due.append((connection.connection_id, IDLE_TIMEOUT))
        return due

    def __len__(self) -> int:
        return len(self._sockets)


# --------------------------------------------------------------------------- routes


_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_BODY_PREFIX = "$request.body."


@dataclass(frozen=True)
class RouteSelector:
    """Picks the route for a client frame ("Route selection expressions").

    The selected value is stringified before it is matched ("Create routes for WebSocket APIs":
    "keep in mind that the result will be stringified"), see ``stringify``; a missing or null
    value, a frame that is not JSON (or nests too deeply to parse), or a value that names no
    route falls back to ``$default`` (None when there is none).
    """

    expression: str
    routes: frozenset[str]
    path: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        text = self.expression.strip()
        if text.startswith("${") and text.endswith("}"):
            text = "$" + text[2:-1]
        if not text.startswith(_BODY_PREFIX):
            raise EmulatorConfigError(
                f"route selection expression {self.expression!r} is not supported: "
                f"use {_BODY_PREFIX}<path>, for example {DEFAULT_ROUTE_SELECTION_EXPRESSION}"
            )
        path = tuple(text[len(_BODY_PREFIX) :].split("."))
        bad = [segment for segment in path if not _SEGMENT.fullmatch(segment)]
        if bad:
            raise EmulatorConfigError(
                f"route selection expression {self.expression!r} has invalid path segment(s) "
                f"{bad}: use dot-separated names such as $request.body.a.b"
            )
        unknown = {r for r in self.routes if r.startswith("$")} - RESERVED_ROUTES
        if unknown:
            raise EmulatorConfigError(
                f"unknown reserved route key(s) {sorted(unknown)}: only {sorted(RESERVED_ROUTES)} "
                "may start with '$'"
            )
        object.__setattr__(self, "path", path)

    def select(self, body: str) -> str | None:
        """The route key for this frame, ``$default``, or None (no route: API Gateway refuses)."""
        value = self._evaluate(body)
        if value is not None and value in self.routes and value not in RESERVED_ROUTES:
            return value
        return DEFAULT_ROUTE if DEFAULT_ROUTE in self.routes else None

    def _evaluate(self, body: str) -> str | None:
        try:
            node: Any = json.loads(body)
        except (ValueError, RecursionError):
            # Not JSON, or nested deeper than the parser goes: the expression cannot be
            # evaluated, and API Gateway sends such a frame to $default.
            return None
        for segment in self.path:
            if not isinstance(node, dict) or segment not in node:
                return None
            node = node[segment]
        try:
            return stringify(node)
        except RecursionError:
            # Parsed, but nested deeper than stringifying can follow (a few hundred levels):
            # such a value names no route (route keys are short), so the frame goes to $default,
            # as one that cannot be parsed does.
            return None


def stringify(value: Any) -> str | None:
    """A selected JSON value as the route key it matches; None for null (no value).

    The guide's one example is an array of two strings becoming ``[item1, item2]``: Java's
    collection ``toString``. We follow that rendering throughout, which is our reading: strings
    as they are, ``true``/``false``, integers in decimal, other numbers as their shortest
    decimal (``1.5``; ``1.0`` stays ``1.0``), arrays ``[a, b]`` and objects ``{k=v, k2=v2}``
    with strings unquoted. Null selects nothing, like a missing value.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)  # true, false, 1, 1.5, 1.0
    if isinstance(value, list):
        return "[" + ", ".join(_stringify_item(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_stringify_item(v)}" for k, v in value.items()) + "}"
    return None


def _stringify_item(value: Any) -> str:
    text = stringify(value)
    return "null" if text is None else text


# --------------------------------------------------------------------------- throttling


@dataclass(frozen=True)
class Throttle:
    """A stage's or a route's throttling target: ``ThrottlingRateLimit`` (requests per second,
    steady state) and ``ThrottlingBurstLimit`` (the bucket's size), as ``update-stage
    --route-settings`` sets them ("Protect your WebSocket APIs in API Gateway")."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_s < 0 or self.burst < 0:
            raise EmulatorConfigError(
                f"throttle rate {self.rate_per_s} and burst {self.burst} must be >= 0"
            )


class TokenBucket:
    """The token bucket API Gateway throttles with: one token per request, ``burst`` tokens at
    most, refilled at ``rate_per_s``; a request that finds no token is throttled."""

    def __init__(self, throttle: Throttle, clock: Clock) -> None:
        self._throttle = throttle
        self._clock = clock
        self._tokens = float(throttle.burst)
        self._at = clock()

    def take(self) -> bool:
        """Spend a token if there is one; False means the request is throttled."""
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._tokens = min(
            float(self._throttle.burst), self._tokens + elapsed * self._throttle.rate_per_s
        )
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class StageThrottling:
    """A stage's throttling: a bucket per route, with the route's own settings or else the
    stage's default route settings; a route with neither is not throttled.

    "Protect your WebSocket APIs in API Gateway": API Gateway throttles with a token bucket,
    "a token counts for a request", per stage and per route (route-level throttling overrides
    the stage's). The account-level limits (10,000 requests per second, burst 5,000, shared by
    every API of the account in the Region) are not emulated: a local stack never reaches them.
    """

    def __init__(
        self, default: Throttle | None, routes: Mapping[str, Throttle], clock: Clock
    ) -> None:
        self._default = default
        self._routes = dict(routes)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def active(self) -> bool:
        """Whether any route is throttled at all."""
        return self._default is not None or bool(self._routes)

    def allow(self, route: str) -> bool:
        """Whether a request on ``route`` gets through (it takes a token if so)."""
        throttle = self._routes.get(route, self._default)
        if throttle is None:
            return True
        bucket = self._buckets.get(route)
        if bucket is None:
            bucket = self._buckets[route] = TokenBucket(throttle, self._clock)
        return bucket.take()


# --------------------------------------------------------------------------- frames


def judge_client_frame(*, binary: bool, length: int, message_before: int) -> CloseReason | None:
    """Whether a client's data frame closes the connection, and why; None lets it through.

    ``message_before`` is what earlier fragments of the same message held (0 for a first
    frame). "Working with binary media types for WebSocket APIs": a binary frame closes with
    1003. The quotas: a frame over 32 KB, or a message (its fragments together) over 128 KB,
    closes with 1009.
    """
    if binary:
        return UNSUPPORTED_DATA
    if length > FRAME_LIMIT_BYTES or message_before + length > MESSAGE_LIMIT_BYTES:
        return MESSAGE_TOO_BIG
    return None


def fragments(payload: bytes, limit: int = FRAME_LIMIT_BYTES) -> list[bytes]:
    """A post's payload cut into the frames it is delivered in, each at most ``limit`` bytes.

    The quotas' footnote: a message over 32 KB "must be split into multiple frames, each 32 KB
    or smaller", and "this applies to @connections commands". Where exactly API Gateway cuts is
    not published: we cut at every ``limit`` bytes (a cut may fall inside a UTF-8 character,
    which RFC 6455 allows in a fragmented text message). An empty payload is one empty frame.
    """
    if not payload:
        return [b""]
    return [payload[i : i + limit] for i in range(0, len(payload), limit)]


def url_too_long(url: str) -> bool:
    """Whether a WebSocket URL is over the quota's 4,096 characters (the handshake is refused)."""
    return len(url) > URL_LIMIT_CHARS


# --------------------------------------------------------------------------- events


def request_time(epoch_s: float) -> str:
    """``requestContext.requestTime``: CLF format, e.g. ``25/Nov/2026:12:34:56 +0000``."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def iso8601_ms(epoch_s: float) -> str:
    """ISO 8601 UTC with milliseconds, as the management API returns timestamps."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def single_and_multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Both forms API Gateway gives headers and query strings in: last value, and all values."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def gateway_headers(
    headers: Iterable[tuple[str, str]],
    *,
    source_ip: str,
    port: int,
    proto: str,
    trace_id: str,
) -> tuple[tuple[str, str], ...]:
    """The handshake headers as the integration sees them, with the ones API Gateway adds.

    The hop-by-hop ``Connection`` and ``Upgrade`` headers end at API Gateway: its ``$connect``
    events carry neither (the guide's and Powertools' sample events).
    """
    result: list[tuple[str, str]] = []
    forwarded_for: str | None = None
    dropped = {"x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id", "connection", "upgrade"}
    for name, value in headers:
        if name.lower() == "x-forwarded-for":
            forwarded_for = value
        elif name.lower() not in dropped:
            result.append((name, value))
    chain = source_ip if forwarded_for is None else f"{forwarded_for}, {source_ip}"
    result += [
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", chain),
        ("X-Forwarded-Port", str(port)),
        ("X-Forwarded-Proto", proto),
    ]
    return tuple(result)


def trace_id(epoch_s: float, token_hex: Callable[[int], str] = secrets.token_hex) -> str:
    """An X-Ray trace header value (``Root=1-<epoch hex>-<96 random bits>``)."""
    return f"Root=1-{int(epoch_s):08x}-{token_hex(12)}"


@dataclass(frozen=True)
class EventBuilder:
    """Builds the events of a Lambda proxy integration ("$connect", messages, "$disconnect")."""

    api_id: str
    stage: str
    clock: Clock

    def connect(self, connection: ClientSocket, request_id: str) -> dict[str, Any]:
        """The ``$connect`` event: headers and query strings in single and multi-value form."""
        headers, multi_headers = single_and_multi(connection.headers)
        event: dict[str, Any] = {
            "headers": headers,
            "multiValueHeaders": multi_headers,
        }
        if connection.query:
            query, multi_query = single_and_multi(connection.query)
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = multi_query
        event["requestContext"] = self._context(connection, CONNECT_ROUTE, "CONNECT", request_id)
        event["isBase64Encoded"] = False
        return event

    def authorizer_request(
        self, connection: ClientSocket, request_id: str, method_arn: str
    ) -> dict[str, Any]:
        """The REQUEST authorizer's event ("Control access to WebSocket APIs with AWS Lambda
        REQUEST authorizers"): the ``$connect`` request with ``type``, ``methodArn`` and the
        stage variables, and without ``isBase64Encoded``."""
        headers, multi_headers = single_and_multi(connection.headers)
        query, multi_query = single_and_multi(connection.query)
        context = self._context(connection, CONNECT_ROUTE, "CONNECT", request_id)
        context.pop("authorizer", None)  # not authorized yet
        return {
            "type": "REQUEST",
            "methodArn": method_arn,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "stageVariables": {},
            "requestContext": context,
        }

    def message(
        self,
        connection: ClientSocket,
        route_key: str,
        body: str,
        *,
        request_id: str,
        message_id: str,
    ) -> dict[str, Any]:
        """A client text frame's event (binary frames never reach a route: they close 1003)."""
        context = self._context(connection, route_key, "MESSAGE", request_id)
        context["messageId"] = message_id
        return {"requestContext": context, "body": body, "isBase64Encoded": False}

    def disconnect(
        self, connection: ClientSocket, why: CloseReason, request_id: str
    ) -> dict[str, Any]:
        """The ``$disconnect`` event, with the close status code and reason."""
        # API Gateway sends these few headers on $disconnect, not the handshake's.
        headers = {
            "Host": connection.domain_name,
            "x-api-key": "",
            "X-Forwarded-For": "",
            "x-restapi": "",
        }
        context = self._context(connection, DISCONNECT_ROUTE, "DISCONNECT", request_id)
        context["disconnectStatusCode"] = why.code
        context["disconnectReason"] = why.reason
        return {
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "requestContext": context,
            "isBase64Encoded": False,
        }

    def _context(
        self, connection: ClientSocket, route_key: str, event_type: str, request_id: str
    ) -> dict[str, Any]:
        now = self.clock()
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": connection.connected_at_ms,
            "requestTimeEpoch": int(now * 1000),
            "identity": identity(connection),
            "requestId": request_id,
            "domainName": connection.domain_name,
            "connectionId": connection.connection_id,
            "apiId": self.api_id,
        }
        if connection.authorizer is not None:
            # "$connect" and every later event of an authorized connection carry it.
            context["authorizer"] = dict(connection.authorizer)
        return context


def identity(connection: ClientSocket) -> dict[str, str]:
    """``identity``: ``userAgent`` is left out, not null, when the client sent none (as AWS)."""
    found = {"sourceIp": connection.source_ip}
    if connection.user_agent is not None:
        found = {"userAgent": connection.user_agent, **found}
    return found


# --------------------------------------------------------------------------- response rules


@dataclass(frozen=True)
class InvocationOk:
    """The function returned; ``payload`` is what it returned (JSON types)."""

    payload: Any


@dataclass(frozen=True)
class InvocationFailed:
    """The function raised, timed out, crashed, or could not be loaded."""

    error_type: str
    message: str


@dataclass(frozen=True)
class IntegrationTimedOut:
    """API Gateway stopped waiting at its integration timeout; the function may run on."""


InvocationResult = InvocationOk | InvocationFailed
IntegrationResult = InvocationOk | InvocationFailed | IntegrationTimedOut
"""What API Gateway knows of an integration request: the function's result, or its own timeout."""


@dataclass(frozen=True)
class ConnectDecision:
    """What the handshake answers, from the ``$connect`` invocation's result."""

    accepted: bool
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""


def _refusal(status: int, message: str) -> ConnectDecision:
    return ConnectDecision(False, status, {}, json.dumps({"message": message}))


def decide_connect(result: IntegrationResult) -> ConnectDecision:
    """A 2xx ``statusCode`` upgrades the socket; anything else refuses with that status.

    A function error (an exception, a crash, the Lambda's own timeout) refuses with 502, as a
    Lambda proxy integration's function error does (observed: "WebSocket handshake: Unexpected
    response code: 502", michalkvasnicak/aws-lambda-graphql#107, serverless/serverless-websockets-
    plugin#13). API Gateway's own 29-second timeout refuses with 504, the status its
    knowledge-center article "How can I troubleshoot API HTTP 504 timeout errors with API
    Gateway?" gives for WebSocket APIs too. A result without a valid ``statusCode`` refuses with
    502: a malformed proxy answer, so a handler that forgets its answer fails here rather than
    only in AWS.
    """
    if isinstance(result, IntegrationTimedOut):
        return _refusal(504, "Endpoint request timed out")
    if isinstance(result, InvocationFailed):
        return _refusal(502, "Internal server error")
    payload = result.payload
    status = payload.get("statusCode") if isinstance(payload, dict) else None
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return _refusal(502, "Internal server error")
    raw_headers = payload.get("headers")
    headers = (
        {str(k): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
    )
    body = payload.get("body")
    return ConnectDecision(
        200 <= status <= 299, status, headers, body if isinstance(body, str) else ""
    )


def _gateway_frame(message: str, connection_id: str, request_id: str) -> str:
    # Byte for byte as API Gateway writes it: a space after the first colon only, e.g.
    # {"message": "Endpoint request timed out", "connectionId":"...", "requestId":"..."}
    # (Kludex/mangum#128, aws/chalice#1406). The error frames share the template.
    return (
        f'{{"message": {json.dumps(message)}, "connectionId":{json.dumps(connection_id)}, '
        f'"requestId":{json.dumps(request_id)}}}'
    )


def forbidden_frame(connection_id: str, request_id: str) -> str:
    """The frame API Gateway sends when no route matches and there is no ``$default``."""
    return _gateway_frame("Forbidden", connection_id, request_id)


def throttled_frame(connection_id: str, request_id: str) -> str:
    """The frame a throttled message gets: AWS documents "429 Too Many Requests" for a
    throttled request ("Protect your WebSocket APIs in API Gateway") but no frame bytes; we
    send that text in the template of API Gateway's other frames (README, Choices)."""
    return _gateway_frame("Too Many Requests", connection_id, request_id)


def timed_out_frame(connection_id: str, request_id: str) -> str:
    """The frame API Gateway sends when a message route passes the integration timeout."""
    return _gateway_frame("Endpoint request timed out", connection_id, request_id)


def message_reply(result: IntegrationResult, connection_id: str, request_id: str) -> str | None:
    """The frame API Gateway sends after a message route's invocation, if any.

    A failed invocation gets the ``Internal server error`` frame, one past the integration
    timeout the ``Endpoint request timed out`` frame; a successful one gets nothing, since the
    routes have no route response (replies go through ``@connections``).
    """
    if isinstance(result, IntegrationTimedOut):
        return timed_out_frame(connection_id, request_id)
    if isinstance(result, InvocationFailed):
        return _gateway_frame("Internal server error", connection_id, request_id)
    return None


# --------------------------------------------------------------------------- @connections


@dataclass(frozen=True)
class ApiError:
    """An error answer of the management API, shaped as botocore's service model expects."""

    status: int
    error_type: str
    message: str | None = None

    def body(self) -> bytes:
        """The JSON body (``{}`` when the error has no message, as GoneException does)."""
        return json.dumps({} if self.message is None else {"message": self.message}).encode()


GONE: Final = ApiError(410, "GoneException")
PAYLOAD_TOO_LARGE: Final = ApiError(413, "PayloadTooLargeException", "Message too long")
LIMIT_EXCEEDED: Final = ApiError(429, "LimitExceededException", "Rate exceeded")
FORBIDDEN: Final = ApiError(403, "ForbiddenException", "Missing Authentication Token")
INTERNAL_ERROR: Final = ApiError(500, "InternalServerErrorException", "Internal server error")
_INJECTABLE: Final = {429: LIMIT_EXCEEDED, 500: INTERNAL_ERROR, 410: GONE, 403: FORBIDDEN}
BAD_SIGNATURE: Final = ApiError(
    403,
    "ForbiddenException",
    "The request signature is not a Signature Version 4 signature for execute-api in this region",
)
_SIGV4: Final = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[A-Za-z0-9]{1,128}/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=[0-9a-f]{64}"
)


def check_signature(authorization: str | None, region: str) -> ApiError | None:
    """``@connections`` calls must be signed: a missing ``Authorization`` is API Gateway's
    "Missing Authentication Token"; one that is not a well-formed SigV4 signature for
    ``execute-api`` in ``region``, signing ``host``, is refused too. The signature itself is
    not verified (the emulator has no secrets), but a stray request from a web page or a
    mistyped client can no longer post to the developer's sockets."""
    if authorization is None:
        return FORBIDDEN
    match = _SIGV4.fullmatch(authorization.strip())
    if (
        match is None
        or match["region"] != region
        or match["service"] != "execute-api"
        or "host" not in match["signed"].split(";")
    ):
        return BAD_SIGNATURE
    return None


_LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def host_allowed(host_header: str | None, listen_port: int) -> bool:
    """Whether a request's ``Host`` names this server on the loopback (a DNS-rebinding page
    reaches it under a name of its own choosing, which is refused)."""
    if not host_header:
        return False
    name, _, port = host_header.rpartition(":")
    if not name or (name.endswith("]") and not name.startswith("[")):
        return False
    return name.lower() in _LOOPBACK_NAMES and port == str(listen_port)


def check_post(connection: ClientSocket | None, size: int) -> ApiError | None:
    """``PostToConnection``: 413 over 128 KB; 410 unless the connection is OPEN."""
    if size > MESSAGE_LIMIT_BYTES:
        return PAYLOAD_TOO_LARGE
    return check_connection(connection)


def check_connection(connection: ClientSocket | None) -> ApiError | None:
    """``GetConnection``/``DeleteConnection``: 410 unless the connection is OPEN."""
    if connection is None or connection.state is not SocketState.OPEN:
        return GONE
    return None


def connection_info(connection: ClientSocket) -> dict[str, Any]:
    """The ``GetConnection`` answer body."""
    return {
        "connectedAt": iso8601_ms(connection.connected_at),
        "identity": identity(connection),
        "lastActiveAt": iso8601_ms(connection.last_active_at),
    }


@dataclass(frozen=True)
class FaultInjection:
    """Optional misbehaviour of ``@connections``, for benchmarks and reliability tests.

    ``delay_s`` is a fixed delay or a ``(low, high)`` range drawn uniformly per call;
    ``error_rate`` is the fraction of calls answered with one of ``error_statuses``.
    """

    delay_s: float | tuple[float, float] = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (429, 500)

    def __post_init__(self) -> None:
        low, high = self._delay_range()
        if not 0 <= low <= high:
            raise EmulatorConfigError(
                f"inject delay {self.delay_s!r} must be >= 0 seconds, "
                "or (low, high) with 0 <= low <= high"
            )
        if not 0.0 <= self.error_rate <= 1.0:
            raise EmulatorConfigError(f"inject error rate {self.error_rate} must be in [0, 1]")
        unknown = set(self.error_statuses) - set(_INJECTABLE)
        if unknown or not self.error_statuses:
            raise EmulatorConfigError(
                f"inject error statuses {self.error_statuses} must be some of {sorted(_INJECTABLE)}"
            )

    @property
    def active(self) -> bool:
        """Whether this injects anything at all."""
        return self._delay_range() != (0.0, 0.0) or self.error_rate > 0

    def draw(self, rng: random.Random) -> tuple[float, ApiError | None]:
        """The delay and the error (or None) for one call."""
        low, high = self._delay_range()
        delay = low if low == high else rng.uniform(low, high)
        error = None
        if self.error_rate > 0 and rng.random() < self.error_rate:
            error = _INJECTABLE[rng.choice(self.error_statuses)]
        return delay, error

    def _delay_range(self) -> tuple[float, float]:
        if isinstance(self.delay_s, tuple):
            return float(self.delay_s[0]), float(self.delay_s[1])
        return float(self.delay_s), float(self.delay_s)
