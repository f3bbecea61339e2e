"""``chat.permissions`` declares every AWS action the code performs, and nothing more.

The code runs against recording fakes; each recorded call is turned into IAM's terms through
botocore's service model (the method ``put_item`` is the operation ``PutItem``, the IAM action
``dynamodb:PutItem``). The Terraform round trip then holds the applied policy to the same
declaration, so between them a call the policy lacks cannot land unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError
from chat.connection_table import DynamoConnectionStore
from chat.connections import Caps, Connection, ConnectionId, Sanctions
from chat.message_table import DynamoMessageStore
from chat.messages import CHANGES_INDEX
from chat.permissions import (
    MANAGE_CONNECTIONS_METHODS,
    MESSAGES_INDEX_ACTIONS,
    MESSAGES_TABLE_ACTIONS,
    ROOM_INDEX_ACTIONS,
    TABLE_ACTIONS,
)
from chat.ratelimit import Budget
from chat.reactions import ReactionCaps
from chat.signed_sender import SignedHttpSender
from chat.stored import Direction, StoredMessage

from bench.boto3_sender import ManagementApiSender
from tests.backend.conftest import REGION
from tests.backend.management_api_server import ManagementApiServer

# The stores' public methods this test runs; a new one must be added here (and so checked).
EXERCISED_STORE_METHODS = frozenset(
    {
        "put",
        "enter",
        "prune",
        "remove",
        "admit",
        "members",
        "shard_members",
        "list_members",
        "live_connections",
        "name_holders",
        "count_connect",
        "admit_shared",
        # Moderation.
        "make_moderator",
        "target",
        "sanction",
        "lift",
    }
)
EXERCISED_MESSAGE_STORE_METHODS = frozenset({"add", "read", "edit", "delete", "react", "changes"})
# A TransactWriteItems is authorised by the operations inside it.
TRANSACTION_OPERATIONS = {
    "Put": "put_item",
    "Update": "update_item",
    "Delete": "delete_item",
    "ConditionCheck": "condition_check_item",
}


def operation(service: str, method: str) -> str:
    """The API operation behind a boto3 client method; ``KeyError`` for anything else."""
    if method == "condition_check_item":
        return "ConditionCheckItem"  # IAM's action; no client method of its own
    model = botocore.session.get_session().get_service_model(service)
    by_method = {xform_name(name): name for name in model.operation_names}
    return by_method[method]


class RecordingDynamoDB:
    """A low-level DynamoDB client that records each call as (method, table, index); a
    transaction is recorded as the operations inside it. Queries answer one page of one item,
    then a second page, so paging runs too; ``refuse_transaction`` makes the next transaction
    fail on its first condition (a resent clientId), so the resend path runs too."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None]] = []
        self.refuse_transaction = False
        self.refuse_update = False

    def __getattr__(self, method: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            if method == "transact_write_items":
                return self._transaction(request)
            if method == "batch_get_item":  # on each table it names; nothing found
                self.calls += [(method, table, None) for table in request["RequestItems"]]
                return {"Responses": {}}
            self.calls.append((method, request.get("TableName"), request.get("IndexName")))
            if method == "update_item":
                return self._update(request)
            if method == "delete_item":  # the old item, holding a counter and a claim
                return {"Attributes": {**_connection_item(), **_holdings()}}
            return self._read(method, request)

        return call

    def _transaction(self, request: dict[str, Any]) -> dict[str, Any]:
        for item in request["TransactItems"]:
            ((kind, body),) = item.items()
            self.calls.append((TRANSACTION_OPERATIONS[kind], body["TableName"], None))
        if self.refuse_transaction:
            self.refuse_transaction = False
            raise _cancelled()
        return {}

    def _update(self, request: dict[str, Any]) -> dict[str, Any]:
        if request["TableName"] == "messages":  # a change: the new item, with a reaction
            return {"Attributes": {**_message_item(), "r:👍": {"SS": ["x"]}, "rev": {"N": "2"}}}
        values = request["ExpressionAttributeValues"]
        if ":one" in values:  # a connect counter
            return {"Attributes": {"connects": {"N": "1"}}}
        if request["Key"]["connectionId"]["S"].startswith("rate#"):  # a shared budget
            if self.refuse_update:
                raise _refused_update()
            return {"Attributes": {"tat": {"N": "2"}}}
        if self.refuse_update and ":now" in values:
            raise _refused_update()  # the burst path: a second, conditioned update
        return {"Attributes": _connection_item()}

    def _read(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        if request["TableName"] == "messages":
            return (
                {"Item": _message_item()} if method == "get_item" else {"Items": [_message_item()]}
            )
        if method == "query" and "ExclusiveStartKey" not in request:
            item = {
                "connectionId": {"S": "c1"},
                "name": {"S": "ada"},
                "connectedAt": {"N": "1"},
                "expiresAt": {"N": "99"},
            }
            return {"Items": [item], "LastEvaluatedKey": {"connectionId": {"S": "c1"}}}
        return {"Items": []}


def _connection_item() -> dict[str, Any]:
    return {
        "connectionId": {"S": "c1"},
        "room": {"S": "room"},
        "name": {"S": "ada"},
        "connectedAt": {"N": "1"},
        "expiresAt": {"N": "99"},
        "tatTest": {"N": "30"},
    }


def _holdings() -> dict[str, Any]:
    return {"counters": {"SS": ["seats#room#0"]}, "claim": {"S": "name#room#ada"}}


def _refused_update() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "no"},
            "Item": _connection_item(),
        },
        "UpdateItem",
    )


def _message_item() -> dict[str, Any]:
    return {
        "room": {"S": "room"},
        "id": {"S": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        "from": {"S": "ada"},
        "text": {"S": "hi"},
        "sentAt": {"N": "1"},
        "expiresAt": {"N": "99"},
    }


def _cancelled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [
                {
                    "Code": "ConditionalCheckFailed",
                    "Item": {"messageId": {"S": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
                },
                {"Code": "None"},
            ],
        },
        "TransactWriteItems",
    )


@pytest.fixture
def recorded() -> Iterator[RecordingDynamoDB]:
    """Every public method of both stores run against the recording client."""
    client = RecordingDynamoDB()
    store = DynamoConnectionStore(client, "table", page_size=1)
    store.put(Connection(ConnectionId("c1"), "room", "ada", 1, 99))
    caps = Caps(room=10, per_room=2, total=5)
    entering = Connection(ConnectionId("c2"), "room", "ada", 1, 99)
    sanctions = Sanctions(bans=("ban#room#n#ada",), mutes=("mute#room#n#ada",))
    store.enter(
        entering, name_key="ada", source="s", user="u", caps=caps, now_s=1, sanctions=sanctions
    )
    store.make_moderator(ConnectionId("c1"))
    store.target(ConnectionId("c1"), 100)
    store.sanction(["mute#room#n#ada", "mute#room#a#s"], 100, {"by": "mod"})
    store.lift("mute#room#n#ada", ["mute#room#a#s"])
    store.admit(ConnectionId("c1"), Budget("tatTest", 60, 2), 1)
    store.admit_shared("rate#room#room", Budget("tat", 60, 2), 1)
    client.refuse_update = True
    store.admit(ConnectionId("c1"), Budget("tatTest", 60, 2), 1)
    store.admit_shared("rate#room#room", Budget("tat", 60, 2), 1)
    assert {m.connection_id for m in store.members("room", 1)} == {ConnectionId("c1")}
    assert {m.connection_id for m in store.shard_members(["room#0"], 1)} == {ConnectionId("c1")}
    assert ConnectionId("c1") in {m.connection_id for m in store.list_members("room", 1, 5).members}
    store.live_connections("room", 1)
    store.name_holders("room", "ada", 1)
    store.prune(ConnectionId("c1"), 2)
    store.remove(ConnectionId("c1"))
    store.count_connect("source", 60, 180)
    messages = DynamoMessageStore(client, "messages")
    message = StoredMessage("01ARZ3NDEKTSV4RRFFQ69G5FAV", "room", "ada", "hi", 1, 99)
    messages.add(message, None, 1)
    messages.add(message, "c-1", 1)
    client.refuse_transaction = True
    assert messages.add(message, "c-1", 1).duplicate
    for direction, cursor in (
        (Direction.LATEST, None),
        (Direction.AFTER, "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        (Direction.BEFORE, "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    ):
        messages.read("room", direction, cursor, 5, now_s=1, retention_s=100)
    message_id = message.message_id
    messages.edit("room", message_id, "owner", "fixed", 1000)
    messages.delete("room", message_id, "owner", 1000)  # with reactions left: a PutItem too
    caps = ReactionCaps(distinct=2, per_person=2, total=2)
    messages.react("room", message_id, "reactor", "👍", caps=caps, now_ms=1000)
    messages.changes("room", 0, None, 5, now_s=1, retention_s=100)
    yield client


def test_the_test_runs_every_public_method_of_the_stores() -> None:
    """A store method this test does not run could call something undeclared."""
    public = {name for name in vars(DynamoConnectionStore) if not name.startswith("_")}
    assert public == EXERCISED_STORE_METHODS
    public = {name for name in vars(DynamoMessageStore) if not name.startswith("_")}
    assert public == EXERCISED_MESSAGE_STORE_METHODS


def actions(recorded: RecordingDynamoDB, table: str, *, index: bool) -> set[str]:
    """The IAM actions of the recorded calls on ``table`` (on its index, or not)."""
    return {
        f"dynamodb:{operation('dynamodb', method)}"
        for method, name, on_index in recorded.calls
        if name == table and bool(on_index) is index
    }


def test_dynamodb_calls_are_exactly_the_declared_actions(recorded: RecordingDynamoDB) -> None:
    """Each table's and index's calls are exactly what is declared: none undeclared or spare."""
    assert {name for _, name, _ in recorded.calls} == {"table", "messages"}
    assert actions(recorded, "table", index=False) == TABLE_ACTIONS
    assert actions(recorded, "table", index=True) == ROOM_INDEX_ACTIONS
    assert actions(recorded, "messages", index=False) == MESSAGES_TABLE_ACTIONS
    assert actions(recorded, "messages", index=True) == MESSAGES_INDEX_ACTIONS
    assert {index for _, name, index in recorded.calls if name == "messages"} == {
        None,
        CHANGES_INDEX,
    }


def test_the_boto3_sender_uses_only_declared_http_methods() -> None:
    """``ManagementApiSender``'s calls are @connections operations with declared methods."""
    calls: list[str] = []

    class Client:
        def __getattr__(self, method: str) -> Any:
            return lambda **_: calls.append(method)

    ManagementApiSender(Client()).post(ConnectionId("c1"), b"{}")
    ManagementApiSender(Client()).delete_connection(ConnectionId("c1"))
    model = botocore.session.get_session().get_service_model("apigatewaymanagementapi")
    methods = {
        model.operation_model(operation("apigatewaymanagementapi", m)).http["method"] for m in calls
    }
    assert methods == MANAGE_CONNECTIONS_METHODS


def test_the_signed_sender_uses_only_declared_http_methods(
    management_api: ManagementApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SignedHttpSender``'s requests on the wire use declared methods only."""
    methods: set[str] = set()
    original = SignedHttpSender.request

    def request(
        self: SignedHttpSender, connection_id: ConnectionId, data: bytes, method: str = "POST"
    ) -> bytes:
        raw = original(self, connection_id, data, method)  # the bytes written to the socket
        methods.add(raw.split(b" ", 1)[0].decode())
        return raw

    monkeypatch.setattr(SignedHttpSender, "request", request)
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    sender = SignedHttpSender(management_api.endpoint, lambda: credentials, REGION, pool_size=1)
    sender.post(ConnectionId("c1"), b"{}")
    sender.delete_connection(ConnectionId("c1"))
    assert management_api.received[ConnectionId("c1")] == [b"{}"]
    assert management_api.deleted == [ConnectionId("c1")]
    assert methods == MANAGE_CONNECTIONS_METHODS
