"""The events the emulator sends match API Gateway's, checked against Powertools' models."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)

from local_stack.emulator.core import close_reasons, events, sockets
from local_stack.stack import Stack
from tests.local_stack.support import EventLog, whoami, ws_connect

CONTEXT_FIELDS = {
    "routeKey",
    "eventType",
    "connectionId",
    "connectedAt",
    "requestTimeEpoch",
    "requestTime",
    "requestId",
    "extendedRequestId",
    "messageDirection",
    "stage",
    "domainName",
    "apiId",
    "identity",
}


def built_events() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    clock = iter([1_764_000_000.0, 1_764_000_000.5, 1_764_000_001.0, 1_764_000_002.0])
    builder = events.EventBuilder("abc123defg", "prod", lambda: next(clock))
    registry = sockets.SocketRegistry(
        clock=lambda: 1_764_000_000.0, new_id=lambda: "L0SM9cOFvHcCIhw="
    )
    connection = registry.begin(
        source_ip="192.0.2.1",
        user_agent="Mozilla/5.0",
        domain_name="abc123defg.execute-api.eu-west-1.amazonaws.com",
        headers=[
            ("Host", "abc123defg.execute-api.eu-west-1.amazonaws.com"),
            ("Origin", "https://x"),
        ],
        query=[("name", "alice"), ("room", "lobby"), ("room", "other")],
    )
    connect = builder.connect(connection, "req1")
    message = builder.message(
        connection, "sendmessage", '{"action":"sendmessage"}', request_id="req2", message_id="msg1"
    )
    plain = builder.message(connection, "$default", "not json", request_id="req3", message_id="m2")
    disconnect = builder.disconnect(connection, close_reasons.NO_STATUS, "req4")
    return connect, message, plain, disconnect


def test_built_events_validate_against_powertools_models() -> None:
    """Connect, message and disconnect events parse with Powertools' WebSocket models."""
    connect, message, plain, disconnect = built_events()
    parsed_connect = APIGatewayWebSocketConnectEventModel.model_validate(connect)
    parsed_message = APIGatewayWebSocketMessageEventModel.model_validate(message)
    APIGatewayWebSocketMessageEventModel.model_validate(plain)
    parsed_disconnect = APIGatewayWebSocketDisconnectEventModel.model_validate(disconnect)
    assert parsed_connect.request_context.route_key == "$connect"
    assert parsed_message.request_context.message_id == "msg1"
    assert parsed_disconnect.request_context.disconnect_status_code == 1005


def test_built_events_carry_every_field_api_gateway_sends() -> None:
    """Every requestContext field of the issue is present, with API Gateway's types."""
    connect, message, plain, disconnect = built_events()
    for event in (connect, message, plain, disconnect):
        context = event["requestContext"]
        assert set(context) >= CONTEXT_FIELDS
        assert context["connectedAt"] == 1_764_000_000_000  # fixed at connect
        assert isinstance(context["requestTimeEpoch"], int)
        assert context["messageDirection"] == "IN"
        assert context["identity"] == {"userAgent": "Mozilla/5.0", "sourceIp": "192.0.2.1"}
        assert context["extendedRequestId"] == context["requestId"]
    assert connect["queryStringParameters"] == {"name": "alice", "room": "other"}
    assert connect["multiValueQueryStringParameters"]["room"] == ["lobby", "other"]
    assert connect["multiValueHeaders"]["Origin"] == ["https://x"]
    assert message["requestContext"]["requestTime"] == "24/Nov/2025:16:00:00 +0000"
    assert "messageId" not in connect["requestContext"]
    assert (plain["body"], plain["isBase64Encoded"]) == ("not json", False)
    assert disconnect["requestContext"]["disconnectReason"] == close_reasons.NO_STATUS.reason


def test_connect_without_query_string_has_no_query_fields() -> None:
    """Without a query string, the query fields are absent, as in API Gateway."""
    registry = sockets.SocketRegistry(clock=lambda: 0.0, new_id=lambda: "x")
    connection = registry.begin(source_ip="127.0.0.1", user_agent=None, domain_name="h")
    event = events.EventBuilder("a", "s", lambda: 0.0).connect(connection, "r")
    assert "queryStringParameters" not in event
    APIGatewayWebSocketConnectEventModel.model_validate(event)


def test_events_through_real_sockets_validate(stack: Stack, event_log: EventLog) -> None:
    """Events recorded from a real client session validate and hold what the client sent."""

    async def session() -> str:
        async with ws_connect(
            stack.ws_url + "?name=alice&room=a&room=b",
            additional_headers={"Origin": "http://example.test", "X-Custom": "1"},
            user_agent_header="test-agent/1.0",
        ) as ws:
            connection_id = await whoami(ws)
            await ws.send("plain text")
            await ws.recv()
            await ws.close(code=4000, reason="bye now")
        return connection_id

    connection_id = asyncio.run(session())
    disconnect = event_log.wait_for("$disconnect", connection_id)
    connect = event_log.wait_for("$connect", connection_id)
    echo = event_log.wait_for("echo", connection_id)
    plain = event_log.wait_for("$default", connection_id)

    APIGatewayWebSocketConnectEventModel.model_validate(connect)
    APIGatewayWebSocketMessageEventModel.model_validate(echo)
    APIGatewayWebSocketMessageEventModel.model_validate(plain)
    APIGatewayWebSocketDisconnectEventModel.model_validate(disconnect)

    context = connect["requestContext"]
    assert context["stage"] == "local"
    assert context["domainName"] == f"127.0.0.1:{stack.port}"
    assert context["identity"] == {"userAgent": "test-agent/1.0", "sourceIp": "127.0.0.1"}
    assert connect["headers"]["Origin"] == "http://example.test"
    assert connect["headers"]["X-Custom"] == "1"
    assert connect["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert connect["multiValueQueryStringParameters"]["room"] == ["a", "b"]
    assert connect["queryStringParameters"] == {"name": "alice", "room": "b"}
    assert json.loads(echo["body"]) == {"action": "echo"}
    assert echo["isBase64Encoded"] is False
    assert (plain["body"], plain["isBase64Encoded"]) == ("plain text", False)
    assert {name.lower() for name in connect["headers"]}.isdisjoint({"connection", "upgrade"})
    assert disconnect["requestContext"]["disconnectStatusCode"] == 4000
    assert disconnect["requestContext"]["disconnectReason"] == "bye now"
    for event in (connect, echo, plain, disconnect):
        assert set(event["requestContext"]) >= CONTEXT_FIELDS
        assert event["requestContext"]["connectedAt"] == context["connectedAt"]
        assert event["requestContext"]["requestTimeEpoch"] >= context["connectedAt"]
    request_ids = {e["requestContext"]["requestId"] for e in (connect, echo, plain, disconnect)}
    assert len(request_ids) == 4
    assert echo["requestContext"]["messageId"] != plain["requestContext"]["messageId"]


def test_connect_event_has_no_hop_by_hop_headers(stack: Stack, event_log: EventLog) -> None:
    """The $connect event carries no Connection or Upgrade header: they end at API Gateway
    (AWS's sample events, e.g. Powertools' apiGatewayWebSocketConnectEvent, have neither)."""

    async def session() -> str:
        async with ws_connect(stack.ws_url) as ws:
            return await whoami(ws)

    connect = event_log.wait_for("$connect", asyncio.run(session()))
    assert {name.lower() for name in connect["headers"]}.isdisjoint({"connection", "upgrade"})
    assert {name.lower() for name in connect["multiValueHeaders"]}.isdisjoint(
        {"connection", "upgrade"}
    )


def test_identity_has_no_user_agent_when_the_client_sends_none(
    stack: Stack, event_log: EventLog
) -> None:
    """Without a User-Agent header, identity.userAgent is absent, not null, as in AWS's events;
    the event still validates against Powertools' model."""

    async def session() -> str:
        async with ws_connect(stack.ws_url, user_agent_header=None) as ws:
            return await whoami(ws)

    connect = event_log.wait_for("$connect", asyncio.run(session()))
    assert connect["requestContext"]["identity"] == {"sourceIp": "127.0.0.1"}
    APIGatewayWebSocketConnectEventModel.model_validate(connect)
