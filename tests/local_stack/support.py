"""Helpers for the emulator's tests (stack options with the test handlers, the event log,
WebSocket and management API clients), and for every test that drives a running local stack
(``tests/e2e``, ``tests/browser``): fresh rooms and the table's view of a room."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import string
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from chat.connections import (
    CONNECTED_AT_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    NAME_ATTRIBUTE,
    ROOM_ATTRIBUTE,
)
from websockets.asyncio.client import ClientConnection, connect

from local_stack.cognito import CognitoAuth
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_HANDLER = "tests.local_stack.handlers.handler"
TEST_ROUTES = frozenset(
    {"$connect", "$disconnect", "$default", "echo", "crash", "hang", "exit", "context", "env",
     "delete", "1", "true"}
)  # fmt: skip

T = TypeVar("T")


def sign_in_options(**overrides: Any) -> StackOptions:
    """The stack's sign-in mode with the real authorizer and chat, rate limits lifted (tests
    send in volume from one address)."""
    options: dict[str, Any] = {
        "auth": CognitoAuth(),
        "function": FunctionSettings(environment=LIFTED_RATE_LIMITS),
    }
    return StackOptions(**{**options, **overrides})


def handler_options(
    event_log: Path,
    *,
    emulator: EmulatorSettings | None = None,
    environment: Mapping[str, str] | None = None,
) -> StackOptions:
    """Stack options that run ``tests/local_stack/handlers.py`` and log its events.

    ``emulator`` defaults to API Gateway's settings with the test routes; ``environment``
    replaces the function's (``EVENT_LOG``) mapping as a whole.
    """
    function = FunctionSettings(
        handler=TEST_HANDLER,
        code_dir=REPO_ROOT,
        environment={"EVENT_LOG": str(event_log)} if environment is None else environment,
        timeout_s=2.0,
    )
    return StackOptions(
        emulator=EmulatorSettings(routes=TEST_ROUTES) if emulator is None else emulator,
        function=function,
        site_dir=None,
    )


def wait_until(probe: Callable[[], T | None], timeout_s: float = 15.0, what: str = "it") -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class EventLog:
    """The events the test handler received, read back from its log file."""

    path: Path

    def records(self) -> list[dict[str, Any]]:
        """Everything logged so far, in order."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        # A worker may be mid-way through appending a large record: only whole lines count.
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def events(self, connection_id: str | None = None, route: str | None = None) -> list[Any]:
        """The logged events, optionally of one connection and one route."""
        found = []
        for record in self.records():
            context = record.get("requestContext")
            if context is None:
                continue
            if connection_id is not None and context["connectionId"] != connection_id:
                continue
            if route is not None and context["routeKey"] != route:
                continue
            found.append(record)
        return found

    def wait_for(
        self, route: str, connection_id: str | None = None, timeout_s: float = 15.0
    ) -> dict[str, Any]:
        """The first event of ``route`` (for ``connection_id``), waiting for it to arrive."""
        events = wait_until(
            lambda: self.events(connection_id, route), timeout_s, f"a {route} event"
        )
        return events[0]  # type: ignore[no-any-return]


def management_client(stack: Stack, *, attempts: int = 1) -> Any:
    """A boto3 ``apigatewaymanagementapi`` client on the stack; no retries unless asked."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.management_endpoint,
        region_name=stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ``ClientError``."""
    return str(exc.response["Error"]["Code"])  # type: ignore[attr-defined]


def fresh_room(prefix: str = "r") -> str:
    """A room no other test uses, so tests sharing a stack never hear each other."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def plain_username(prefix: str) -> str:
    """A new Cognito user name of letters only, which the chat shows as it is (a name with
    digits 0 and 1 or separators, as ``fresh_room`` makes, gets a tag: authorizer.names)."""
    return prefix + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


def room_connections(stack: Stack, room: str) -> list[tuple[str, str]]:
    """The stored connections of ``room`` in ``stack``'s table, as (name, connection id)."""
    answer = stack.dynamodb().scan(
        TableName=stack.table_name,
        FilterExpression="#room = :room",
        ExpressionAttributeNames={"#room": ROOM_ATTRIBUTE},
        ExpressionAttributeValues={":room": {"S": room}},
    )
    return [
        (item[NAME_ATTRIBUTE]["S"], item[CONNECTION_ID_ATTRIBUTE]["S"]) for item in answer["Items"]
    ]


def age_connection(stack: Stack, connection_id: str, by_ms: int = 60_000) -> None:
    """Move a stored connection's ``connectedAt`` back ``by_ms``: a 410 prunes only connections
    past the handshake grace (``chat.broadcast.HANDSHAKE_GRACE_MS``)."""
    stack.dynamodb().update_item(
        TableName=stack.table_name,
        Key={CONNECTION_ID_ATTRIBUTE: {"S": connection_id}},
        UpdateExpression="SET #since = #since - :by",
        ExpressionAttributeNames={"#since": CONNECTED_AT_ATTRIBUTE},
        ExpressionAttributeValues={":by": {"N": str(by_ms)}},
    )


def ws_connect(url: str, **kwargs: Any) -> connect:
    """A WebSocket client with no proxy and no compression (API Gateway offers none)."""
    kwargs.setdefault("proxy", None)
    kwargs.setdefault("compression", None)
    kwargs.setdefault("open_timeout", 10)
    return connect(url, **kwargs)


async def whoami(ws: ClientConnection) -> str:
    """The connection id the emulator gave this client (asks the echo route)."""
    await ws.send(json.dumps({"action": "echo"}))
    reply = json.loads(await ws.recv(decode=True))
    return str(reply["connectionId"])


def raw_upgrade(port: int, path: str) -> socket.socket:
    """A WebSocket handshake by hand; the returned socket then never reads nor answers pings."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def tagged_connection(log: EventLog, tag: str) -> str:
    """The id of the connection whose handshake had ``?tag=<tag>``, once its $connect ran."""
    connects = wait_until(
        lambda: [
            e
            for e in log.events(route="$connect")
            if (e.get("queryStringParameters") or {}).get("tag") == tag
        ],
        what=f"the $connect of ?tag={tag}",
    )
    return str(connects[0]["requestContext"]["connectionId"])
