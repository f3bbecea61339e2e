"""The DynamoDB store against moto: keys, consistent reads, paginated Query, expiry, no Scan."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from chat.connections import (
    CONNECTED_AT_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    NAME_ATTRIBUTE,
    ROOM_ATTRIBUTE,
    ROOM_INDEX,
    TTL_ATTRIBUTE,
    Connection,
    ConnectionId,
    DynamoConnectionStore,
    RoomMember,
)
from chat.errors import StoreError

from tests.backend.conftest import TABLE

NOW_S = int(time.time())


class RecordingClient:
    """Wraps a boto3 client and records each call's method name and arguments."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(**kwargs)

        return call

    def names(self) -> list[str]:
        """The method names called, in order."""
        return [name for name, _ in self.calls]


def ids(store: DynamoConnectionStore, room: str, now_s: int) -> Iterator[str]:
    """The connection ids ``store.members`` lists, lazily."""
    return (member.connection_id for member in store.members(room, now_s))


def connection(cid: str, room: str = "lobby", expires: int = NOW_S + 3600) -> Connection:
    """A connection with the given id, room and expiry."""
    return Connection(ConnectionId(cid), room, f"name-{cid}", NOW_S * 1000, expires)


def test_put_writes_the_documented_item(dynamodb: Any) -> None:
    """An item has connectionId, room, name, connectedAt (ms) and expiresAt (s) with their types."""
    DynamoConnectionStore(dynamodb, TABLE).put(
        Connection(ConnectionId("c1"), "general", "alice", 1_795_610_096_123, 1_795_620_896)
    )
    item = dynamodb.get_item(TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": "c1"}})["Item"]
    assert item == {
        CONNECTION_ID_ATTRIBUTE: {"S": "c1"},
        ROOM_ATTRIBUTE: {"S": "general"},
        NAME_ATTRIBUTE: {"S": "alice"},
        CONNECTED_AT_ATTRIBUTE: {"N": "1795610096123"},
        TTL_ATTRIBUTE: {"N": "1795620896"},
    }


def test_get_round_trips_with_a_consistent_read(dynamodb: Any) -> None:
    """get returns what put stored, read with ConsistentRead (a client speaks right away)."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE)
    stored = connection("c1", "general")
    store.put(stored)
    assert store.get(ConnectionId("c1")) == stored
    assert store.get(ConnectionId("missing")) is None
    reads = [kwargs for name, kwargs in client.calls if name == "get_item"]
    assert reads
    assert all(kwargs["ConsistentRead"] is True for kwargs in reads)


def test_delete_is_idempotent(dynamodb: Any) -> None:
    """Deleting twice, or deleting what never existed, succeeds."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("c1"))
    store.delete(ConnectionId("c1"))
    store.delete(ConnectionId("c1"))
    store.delete(ConnectionId("never-there"))
    assert store.get(ConnectionId("c1")) is None


def test_room_members_only_lists_that_room(dynamodb: Any) -> None:
    """Members of other rooms are not returned."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    for cid, room in [("a", "lobby"), ("b", "other"), ("c", "lobby")]:
        store.put(connection(cid, room))
    assert sorted(ids(store, "lobby", NOW_S)) == ["a", "c"]
    assert list(ids(store, "empty", NOW_S)) == []


def test_expired_items_are_skipped(dynamodb: Any) -> None:
    """An item past its expiresAt (TTL deletes late) is not a recipient."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("alive", expires=NOW_S + 10))
    store.put(connection("expired", expires=NOW_S - 1))
    store.put(connection("boundary", expires=NOW_S))
    assert list(ids(store, "lobby", NOW_S)) == ["alive"]


def test_pagination_reads_every_page(dynamodb: Any) -> None:
    """With pages of 2, all 7 members come back through LastEvaluatedKey; never a Scan."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE, page_size=2)
    for i in range(7):
        store.put(connection(f"c{i}"))
    store.put(connection("expired", expires=NOW_S - 5))
    client.calls.clear()
    assert sorted(ids(store, "lobby", NOW_S)) == [f"c{i}" for i in range(7)]
    queries = [kwargs for name, kwargs in client.calls if name == "query"]
    assert len(queries) >= 4
    assert "ExclusiveStartKey" not in queries[0]
    assert all("ExclusiveStartKey" in kwargs for kwargs in queries[1:])
    assert all(kwargs["IndexName"] == ROOM_INDEX and kwargs["Limit"] == 2 for kwargs in queries)
    assert "scan" not in client.names()


def test_room_members_is_lazy(dynamodb: Any) -> None:
    """The first recipient is available after one page; later pages are read on demand."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE, page_size=1)
    for i in range(3):
        store.put(connection(f"c{i}"))
    client.calls.clear()
    members = ids(store, "lobby", NOW_S)
    next(members)
    assert client.names() == ["query"]


def test_members_carry_names_and_connect_times(dynamodb: Any) -> None:
    """The member list reads names and connect times from the room index alone."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE)
    store.put(connection("a"))
    client.calls.clear()
    [member] = store.members("lobby", NOW_S)
    stored = connection("a")
    assert member == RoomMember(ConnectionId("a"), stored.name, stored.connected_at_ms)
    assert client.names() == ["query"]


def test_remove_returns_what_was_stored_and_is_idempotent(dynamodb: Any) -> None:
    """One DeleteItem forgets the connection and says who it was; a second finds nothing."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("a"))
    assert store.remove(ConnectionId("a")) == connection("a")
    assert store.remove(ConnectionId("a")) is None
    assert store.get(ConnectionId("a")) is None


def test_a_malformed_item_is_a_store_error(dynamodb: Any) -> None:
    """An item without a name is reported as StoreError naming the attribute."""
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            CONNECTION_ID_ATTRIBUTE: {"S": "c1"},
            ROOM_ATTRIBUTE: {"S": "lobby"},
            TTL_ATTRIBUTE: {"N": "1"},
        },
    )
    with pytest.raises(StoreError, match="'name'"):
        DynamoConnectionStore(dynamodb, TABLE).get(ConnectionId("c1"))
