"""The real entry point with real clients: DynamoDB reached through AWS_ENDPOINT_URL_DYNAMODB
(a moto server) and @connections through a real local HTTP endpoint."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from chat.config import EnvVar
from chat.connections import CONNECTED_AT_ATTRIBUTE, CONNECTION_ID_ATTRIBUTE
from chat.handler import handler
from chat.runtime import runtime_for
from moto.server import ThreadedMotoServer

from tests.backend.conftest import MESSAGES_TABLE, REGION, TABLE, Logs, create_table, load_event
from tests.backend.fakes import FakeContext
from tests.backend.management_api_server import ManagementApiServer


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 for this module's tests."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def dynamodb_endpoint(moto_server: str) -> str:
    """The moto server, emptied, holding a fresh connections table."""
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(reset, timeout=5):  # noqa: S310 -- the local test server
        pass
    create_table(
        boto3.client(
            "dynamodb",
            region_name=REGION,
            endpoint_url=moto_server,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    )
    return moto_server


@pytest.fixture
def deployed(
    monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str, management_api: ManagementApiServer
) -> ManagementApiServer:
    """Environment as the local stack sets it; returns the @connections server."""
    monkeypatch.setenv(EnvVar.TABLE_NAME, TABLE)
    monkeypatch.setenv(EnvVar.MESSAGES_TABLE_NAME, MESSAGES_TABLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    monkeypatch.setenv(EnvVar.CONNECTIONS_ENDPOINT, management_api.endpoint)
    monkeypatch.setenv(EnvVar.FANOUT_CONCURRENCY, "8")
    # Every event comes from the fixture's one source address.
    monkeypatch.setenv(EnvVar.LIVE_CONNECTIONS_PER_ROOM, "100")
    return management_api


def table(dynamodb_endpoint: str) -> Any:
    """A client on the same moto server, for looking at the table."""
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=dynamodb_endpoint)


def connect(cid: str, room: str = "general") -> dict[str, int]:
    """Invoke the real handler with a $connect event."""
    event = load_event("connect")
    event["requestContext"]["connectionId"] = cid
    event["queryStringParameters"] = {"name": f"user-{cid}", "room": room}
    return handler(event, FakeContext())


def send(cid: str, text: str) -> dict[str, int]:
    """Invoke the real handler with a sendmessage event."""
    event = load_event("sendmessage")
    event["requestContext"]["connectionId"] = cid
    event["body"] = json.dumps({"action": "sendmessage", "text": text})
    return handler(event, FakeContext())


def test_conversation_with_stale_and_throttled_recipients(
    deployed: ManagementApiServer, dynamodb_endpoint: str, logs: Logs
) -> None:
    """Over real HTTP: the gone recipient is pruned (and announced as having left), the
    throttled one gets the message on a retry."""
    for cid in ("a", "slow", "stale"):
        assert connect(cid) == {"statusCode": 200}
    assert deployed.requests == {}  # nothing posted during $connect
    # "stale" connected a minute ago: a 410 for a connection in its handshake keeps it.
    table(dynamodb_endpoint).update_item(
        TableName=TABLE,
        Key={CONNECTION_ID_ATTRIBUTE: {"S": "stale"}},
        UpdateExpression="SET #since = #since - :minute",
        ExpressionAttributeNames={"#since": CONNECTED_AT_ATTRIBUTE},
        ExpressionAttributeValues={":minute": {"N": "60000"}},
    )
    deployed.script.update({"slow": [429], "stale": [410]})
    logs.clear()
    assert send("a", "hello") == {"statusCode": 200}
    left = {
        "type": "presence",
        "event": "left",
        "room": "general",
        "name": "user-stale",
        "count": 2,
    }
    for cid in ("a", "slow"):
        assert [f.get("text", f) for f in deployed.frames(cid)] == ["hello", left]
    assert deployed.requests["slow"] == 3  # the retried message, then the notice
    assert deployed.frames("stale") == []
    client = table(dynamodb_endpoint)
    assert "Item" not in client.get_item(
        TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": "stale"}}
    )
    (line,) = logs.invocations()
    assert (line["delivered"], line["pruned"], line["retried"], line["failed"]) == (4, 1, 1, 0)


def test_forbidden_and_failing_recipients(
    deployed: ManagementApiServer, dynamodb_endpoint: str
) -> None:
    """403 keeps the item; a recipient failing with 500 is tried a bounded number of times."""
    for cid in ("a", "forbidden", "broken"):
        connect(cid)
    deployed.script.update({"forbidden": [403] * 10, "broken": [500] * 10})
    send("a", "hello")
    assert deployed.requests["forbidden"] == 1
    assert deployed.requests["broken"] == 3
    assert [f["text"] for f in deployed.frames("a")] == ["hello"]
    client = table(dynamodb_endpoint)
    assert "Item" in client.get_item(
        TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": "forbidden"}}
    )


def test_a_big_room_receives_everything(deployed: ManagementApiServer) -> None:
    """Sixty members of a room each get the message exactly once."""
    members = [f"m{i:02d}" for i in range(60)]
    for cid in members:
        connect(cid, "crowd")
    connect("outsider", "elsewhere")
    send("m00", "to everyone")
    assert all(len(deployed.frames(cid)) == 1 for cid in members)
    assert deployed.frames("outsider") == []


def test_runtime_is_built_once_per_environment(deployed: ManagementApiServer) -> None:
    """Clients are created once per container and reused; a different environment gets its own."""
    first = runtime_for(os.environ)
    assert runtime_for(os.environ) is first
    other = runtime_for({**os.environ, EnvVar.MAX_MESSAGE_CHARS: "5"})
    assert other is not first
    assert other.settings.max_message_chars == 5


def test_the_runtime_creates_no_management_api_client(
    deployed: ManagementApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold start makes one boto3 client (DynamoDB); posts are signed HTTP, keep-alive pooled."""
    created: list[str] = []
    create_client = botocore.session.Session.create_client

    def recording(
        self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        created.append(service_name)
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", recording)
    monkeypatch.setenv(EnvVar.CONNECTION_TTL_SECONDS, "7201")  # a new environment: a fresh runtime
    members = [f"k{i}" for i in range(20)]
    for cid in members:
        connect(cid, "kept")
    send("k0", "one")
    send("k1", "two")
    assert created == ["dynamodb"]
    assert all([f["text"] for f in deployed.frames(cid)] == ["one", "two"] for cid in members)
    assert 1 <= deployed.accepted <= 8  # FANOUT_CONCURRENCY: connections reused across sends
    assert all(r.headers["authorization"].startswith("AWS4-HMAC-SHA256 ") for r in deployed.log)
