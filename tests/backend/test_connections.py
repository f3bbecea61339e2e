"""The DynamoDB store against moto: keys, consistent reads, paginated Query, expiry, no Scan."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from chat.connection_table import DynamoConnectionStore
from chat.connections import (
    CONNECTED_AT_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    NAME_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    ROOM_ATTRIBUTE,
    ROOM_INDEX,
    ROOM_SHARD_ATTRIBUTE,
    TTL_ATTRIBUTE,
    Admission,
    Connection,
    ConnectionId,
    RoomMember,
)
from chat.errors import StoreError
from chat.ratelimit import Budget
from chat.room_shards import ROOM_SHARDS, room_shard, room_shards, shard_number

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
        ROOM_SHARD_ATTRIBUTE: {"S": f"general#{shard_number('c1')}"},
        NAME_ATTRIBUTE: {"S": "alice"},
        CONNECTED_AT_ATTRIBUTE: {"N": "1795610096123"},
        TTL_ATTRIBUTE: {"N": "1795620896"},
        OWNER_ATTRIBUTE: {"S": ""},
    }


BUDGET = Budget("tatTest", per_minute=60, burst=3)  # 1 s apart sustained, 3 at once


def stored(dynamodb: Any, cid: str) -> dict[str, Any] | None:
    """The raw item of ``cid`` (the test reads the table directly)."""
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": cid}}, ConsistentRead=True
    ).get("Item")
    return item


def test_admit_returns_what_put_stored_in_one_update(dynamodb: Any) -> None:
    """Admitting reads the connection back with the same call that spends the budget (an
    UpdateItem, always strongly consistent: a client speaks right after connecting)."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE)
    store.put(connection("c1", "general"))
    client.calls.clear()
    assert store.admit(ConnectionId("c1"), BUDGET, NOW_S * 1000) == Admission(
        connection("c1", "general")
    )
    assert client.names() == ["update_item"]


def test_admitting_an_unknown_connection_creates_nothing(dynamodb: Any) -> None:
    """A connection that is not stored is not admitted, and no item appears for it."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    assert store.admit(ConnectionId("ghost"), BUDGET, NOW_S * 1000) == Admission(None)
    assert stored(dynamodb, "ghost") is None


def test_a_burst_is_admitted_then_refused_with_the_wait(dynamodb: Any) -> None:
    """GCRA: ``burst`` at once, then one per interval; a refusal says how long to wait."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("c1"))
    now = NOW_S * 1000
    cid = ConnectionId("c1")
    assert [store.admit(cid, BUDGET, now).retry_after_ms for _ in range(3)] == [0, 0, 0]
    assert store.admit(cid, BUDGET, now).retry_after_ms == 1000
    assert store.admit(cid, BUDGET, now + 400).retry_after_ms == 600
    assert store.admit(cid, BUDGET, now + 1000).retry_after_ms == 0
    assert store.admit(cid, BUDGET, now + 1000).retry_after_ms == 1000
    assert store.admit(cid, BUDGET, now + 10_000).retry_after_ms == 0  # idle: full burst again
    item = stored(dynamodb, "c1")
    assert item is not None
    assert item["tatTest"] == {"N": str(now + 11_000)}


def test_budgets_are_separate(dynamodb: Any) -> None:
    """Spending one budget leaves another untouched."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("c1"))
    now = NOW_S * 1000
    for _ in range(3):
        store.admit(ConnectionId("c1"), BUDGET, now)
    other = Budget("tatOther", per_minute=60, burst=1)
    assert store.admit(ConnectionId("c1"), other, now).retry_after_ms == 0


def test_two_containers_cannot_both_spend_the_last_allowance(dynamodb: Any) -> None:
    """The burst path writes only if the value it read is still there: interleaved readers
    (two Lambda containers) spend each allowance once."""

    class Interleaving:
        """A client that lets another store spend the budget between our read and write."""

        def __init__(self, inner: Any, meddle: Any) -> None:
            self.inner, self.meddle, self.meddled = inner, meddle, False

        def update_item(self, **request: Any) -> Any:
            if ":seen" in request["ExpressionAttributeValues"] and not self.meddled:
                self.meddled = True
                self.meddle()
            return self.inner.update_item(**request)

    other = DynamoConnectionStore(dynamodb, TABLE)
    other.put(connection("c1"))
    now = NOW_S * 1000
    cid = ConnectionId("c1")
    other.admit(cid, BUDGET, now)  # 2 left at now
    other.admit(cid, BUDGET, now)  # 1 left
    store = DynamoConnectionStore(
        Interleaving(dynamodb, lambda: other.admit(cid, BUDGET, now)), TABLE
    )
    assert store.admit(cid, BUDGET, now).retry_after_ms == 1000  # the other took the last one


def test_prune_is_idempotent(dynamodb: Any) -> None:
    """Pruning twice, or pruning what never existed, succeeds."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("c1"))
    after_it_connected = NOW_S * 1000 + 1
    assert store.prune(ConnectionId("c1"), after_it_connected)
    assert store.prune(ConnectionId("c1"), after_it_connected)
    assert store.prune(ConnectionId("never-there"), after_it_connected)
    assert stored(dynamodb, "c1") is None


def test_prune_keeps_a_connection_from_the_cutoff_on(dynamodb: Any) -> None:
    """A connection that connected at or after the cutoff is kept: API Gateway answers 410
    until its handshake has finished."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("young"))
    assert not store.prune(ConnectionId("young"), NOW_S * 1000)
    assert stored(dynamodb, "young") is not None


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
    """With pages of 2, all 30 members come back through each shard's LastEvaluatedKey; never
    a Scan."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE, page_size=2)
    for i in range(30):
        store.put(connection(f"c{i}"))
    store.put(connection("expired", expires=NOW_S - 5))
    client.calls.clear()
    assert sorted(ids(store, "lobby", NOW_S)) == sorted(f"c{i}" for i in range(30))
    queries = [kwargs for name, kwargs in client.calls if name == "query"]
    assert len(queries) >= 30 // 2  # the 30 in pages of 2
    by_shard: dict[str, list[dict[str, Any]]] = {}
    for kwargs in queries:
        by_shard.setdefault(kwargs["ExpressionAttributeValues"][":shard"]["S"], []).append(kwargs)
    assert sorted(by_shard) == sorted(room_shards("lobby"))
    for pages in by_shard.values():
        assert "ExclusiveStartKey" not in pages[0]
        assert all("ExclusiveStartKey" in kwargs for kwargs in pages[1:])
    assert all(kwargs["IndexName"] == ROOM_INDEX and kwargs["Limit"] == 2 for kwargs in queries)
    assert "scan" not in client.names()


def test_room_members_is_lazy(dynamodb: Any) -> None:
    """The first recipient is available after the shards' first pages (each shard reads one
    page ahead); later pages are read on demand."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE, page_size=1)
    for i in range(40):
        store.put(connection(f"c{i}"))
    client.calls.clear()
    members = ids(store, "lobby", NOW_S)
    next(members)
    time.sleep(0.2)  # let any eager reader run ahead if it would
    assert ROOM_SHARDS <= len(client.names()) <= 2 * ROOM_SHARDS
    assert len(list(members)) == 39
    assert len(client.names()) >= 40


def test_members_carry_names_and_connect_times(dynamodb: Any) -> None:
    """The member list reads names and connect times from the room index alone."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE)
    store.put(connection("a"))
    client.calls.clear()
    [member] = store.members("lobby", NOW_S)
    stored = connection("a")
    assert member == RoomMember(ConnectionId("a"), stored.name, stored.connected_at_ms)
    assert client.names() == ["query"] * ROOM_SHARDS


def test_remove_returns_what_was_stored_and_is_idempotent(dynamodb: Any) -> None:
    """One DeleteItem forgets the connection and says who it was; a second finds nothing."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    store.put(connection("a"))
    assert store.remove(ConnectionId("a")) == connection("a")
    assert store.remove(ConnectionId("a")) is None
    assert stored(dynamodb, "a") is None


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
        DynamoConnectionStore(dynamodb, TABLE).remove(ConnectionId("c1"))


def test_a_room_spreads_over_its_shards(dynamodb: Any) -> None:
    """800 connections of one room land in every shard, none with more than twice its share,
    and each is listed once."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    cids = [f"conn{i}=" for i in range(800)]
    counts = [0] * ROOM_SHARDS
    for cid in cids:
        counts[shard_number(cid)] += 1
    assert min(counts) > 0
    assert max(counts) < 2 * 800 / ROOM_SHARDS
    for cid in cids[:50]:
        store.put(connection(cid))
    assert sorted(ids(store, "lobby", NOW_S)) == sorted(cids[:50])
    assert room_shard("lobby", cids[0]) == f"lobby#{shard_number(cids[0])}"
