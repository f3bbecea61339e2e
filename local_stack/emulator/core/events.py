"""The events API Gateway sends to a Lambda proxy integration (``EventBuilder``), and the
headers, ids and timestamps they carry."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from local_stack.emulator.core.close_reasons import CloseReason
from local_stack.emulator.core.routes import CONNECT_ROUTE, DISCONNECT_ROUTE
from local_stack.emulator.core.sockets import ClientSocket
from local_stack.emulator.core.sources import Clock

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


def request_time(epoch_s: float) -> str:
    """``requestContext.requestTime``: CLF format, e.g. ``25/Nov/2026:12:34:56 +0000``."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


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
