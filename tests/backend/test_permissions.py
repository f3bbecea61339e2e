"""``chat.permissions`` declares every AWS action the code performs, and nothing more.

The code runs against recording fakes; each recorded call is turned into IAM's terms through
botocore's service model (the method ``put_item`` is the operation ``PutItem``, the IAM action
``dynamodb:PutItem``). The Terraform round trip then holds the applied policy to the same
declaration, so between them a call the policy lacks cannot land unnoticed.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.credentials import ReadOnlyCredentials
from chat.connections import Connection, ConnectionId, DynamoConnectionStore
from chat.gateway import ManagementApiSender, SignedHttpSender
from chat.permissions import (
    MANAGE_CONNECTIONS_METHODS,
    ROOM_INDEX_ACTIONS,
    TABLE_ACTIONS,
)

from tests.backend.conftest import REGION
from tests.backend.connections_server import ConnectionsServer

# The store's public methods this test runs; a new one must be added here (and so checked).
EXERCISED_STORE_METHODS = frozenset({"put", "delete", "get", "room_members"})


def operation(service: str, method: str) -> str:
    """The API operation behind a boto3 client method; ``KeyError`` for anything else."""
    model = botocore.session.get_session().get_service_model(service)
    by_method = {xform_name(name): name for name in model.operation_names}
    return by_method[method]


class RecordingDynamoDB:
    """A low-level DynamoDB client that records each call (with its index) and answers one
    page of one item, then a second page, so paging runs too."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __getattr__(self, method: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            self.calls.append((method, request.get("IndexName")))
            if method == "query" and "ExclusiveStartKey" not in request:
                item = {"connectionId": {"S": "c1"}, "expiresAt": {"N": "99"}}
                return {"Items": [item], "LastEvaluatedKey": {"connectionId": {"S": "c1"}}}
            if method == "get_item":
                return {}
            return {"Items": []}

        return call


@pytest.fixture
def recorded() -> Iterator[RecordingDynamoDB]:
    """Every public method of the store run once against the recording client."""
    client = RecordingDynamoDB()
    store = DynamoConnectionStore(client, "table", page_size=1)
    store.put(Connection(ConnectionId("c1"), "room", "ada", 1, 99))
    store.get(ConnectionId("c1"))
    assert list(store.room_members("room", 1)) == [ConnectionId("c1")]
    store.delete(ConnectionId("c1"))
    yield client


def test_the_test_runs_every_public_method_of_the_store() -> None:
    """A store method this test does not run could call something undeclared."""
    public = {name for name in vars(DynamoConnectionStore) if not name.startswith("_")}
    assert public == EXERCISED_STORE_METHODS


def test_dynamodb_calls_are_exactly_the_declared_actions(recorded: RecordingDynamoDB) -> None:
    """Table calls are TABLE_ACTIONS, index calls ROOM_INDEX_ACTIONS: none undeclared or spare."""
    on_table = {f"dynamodb:{operation('dynamodb', m)}" for m, index in recorded.calls if not index}
    on_index = {f"dynamodb:{operation('dynamodb', m)}" for m, index in recorded.calls if index}
    assert on_table == TABLE_ACTIONS
    assert on_index == ROOM_INDEX_ACTIONS


def test_the_boto3_sender_uses_only_declared_http_methods() -> None:
    """``ManagementApiSender``'s calls are @connections operations with declared methods."""
    calls: list[str] = []

    class Client:
        def __getattr__(self, method: str) -> Any:
            return lambda **_: calls.append(method)

    ManagementApiSender(Client()).post(ConnectionId("c1"), b"{}")
    model = botocore.session.get_session().get_service_model("apigatewaymanagementapi")
    methods = {
        model.operation_model(operation("apigatewaymanagementapi", m)).http["method"] for m in calls
    }
    assert methods == MANAGE_CONNECTIONS_METHODS


def test_the_signed_sender_uses_only_declared_http_methods(
    connections_server: ConnectionsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SignedHttpSender``'s requests on the wire use declared methods only."""
    methods: set[str] = set()
    original = http.client.HTTPConnection.request

    def request(self: http.client.HTTPConnection, method: str, *args: Any, **kwargs: Any) -> None:
        methods.add(method)
        original(self, method, *args, **kwargs)

    monkeypatch.setattr(http.client.HTTPConnection, "request", request)
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    sender = SignedHttpSender(connections_server.endpoint, lambda: credentials, REGION, pool_size=1)
    sender.post(ConnectionId("c1"), b"{}")
    assert connections_server.received[ConnectionId("c1")] == [b"{}"]
    assert methods == MANAGE_CONNECTIONS_METHODS
