"""Response rules: what an integration's result makes API Gateway answer. ``decide_connect``
(the ``$connect`` answer decides the handshake), ``message_reply``, and the frames API Gateway
itself sends (``forbidden_frame``, ``throttled_frame``, ``timed_out_frame``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
