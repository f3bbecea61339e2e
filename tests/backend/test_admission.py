"""Who may enter a room, exactly: the room's seats, each address's and each signed-in user's
share of live connections, and a name's one holder, under concurrent connects (issue 25).

The concurrent tests run against moto's server (``local_stack.moto_server``), which applies one
request at a time, as DynamoDB applies each request atomically; the connects run in threads,
as in as many Lambda containers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError as BotoClientError
from chat.config import AuthMode, Settings
from chat.connection_table import DynamoConnectionStore
from chat.connections import (
    CONNECTION_ID_ATTRIBUTE,
    HOLDERS_ATTRIBUTE,
    LIVE_ATTRIBUTE,
    TTL_ATTRIBUTE,
    ConnectionId,
)
from chat.delivery import BroadcastStats
from chat.errors import HandshakeRefused, StoreError
from chat.jobs import DEFAULT_DELIVERY_THRESHOLD
from chat.room_shards import ROOM_SHARDS, shard_number
from chat.seats import seat_shards, shard_cap
from chat.usecases.connect import SignedIn, connect
from chat.usecases.rooms import disconnect

from local_stack.dynamodb import MotoServer, create_table
from tests.backend.conftest import REGION, TABLE, Logs
from tests.backend.test_connections import RecordingClient
from tests.backend.test_handler import name_test_key

NOW_MS = int(time.time()) * 1000
SETTINGS = Settings(table_name=TABLE, messages_table_name="messages")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's server in a child process, serving one request at a time."""
    with MotoServer() as server:
        yield server.endpoint


@pytest.fixture
def shared_table(moto_endpoint: str) -> Any:
    """A client on a fresh connections table of the moto server (boto3 clients are thread
    safe: the threads share it, as a container's invocations share one)."""
    name = f"admission-{time.monotonic_ns()}"
    create_table(moto_endpoint, name, REGION)
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return DynamoConnectionStore(client, name)


def attempt(
    store: Any,
    cid: str,
    query: Mapping[str, str],
    *,
    source_ip: str | None = None,
    settings: Settings = SETTINGS,
    now_ms: int = NOW_MS,
    signed_in: SignedIn | None = None,
) -> int:
    """The handshake status of one $connect."""
    try:
        connect(
            ConnectionId(cid),
            query,
            None,
            store=store,
            settings=settings,
            now_ms=now_ms,
            guest_name=lambda: "guest-beef",
            source_ip=source_ip,
            signed_in=signed_in,
        )
    except HandshakeRefused as refused:
        return refused.status
    return 200


def at_once(count: int, one: Callable[[int], int]) -> list[int]:
    """Run ``one(0..count-1)`` in ``count`` threads released together; their results."""
    start = threading.Barrier(count)

    def run(n: int) -> int:
        start.wait()
        return one(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_connects_under_one_name_admit_exactly_one_owner(shared_table: Any) -> None:
    """Eight connects as alice with eight keys at once: one is admitted, seven get 409, and
    the admitted owner can still come back."""
    keys = [name_test_key(f"alice-{n}") for n in range(8)]
    statuses = at_once(
        8,
        lambda n: attempt(
            shared_table, f"a{n}", {"name": "alice", "key": keys[n]}, source_ip=f"198.51.100.{n}"
        ),
    )
    assert sorted(statuses) == [200] + [409] * 7
    owner = keys[statuses.index(200)]
    assert attempt(shared_table, "again", {"name": "alice", "key": owner}) == 200


def test_a_room_takes_exactly_its_seats_under_concurrent_connects(shared_table: Any) -> None:
    """Twelve connects at once from twelve addresses into a room of five: exactly five in."""
    settings = replace(SETTINGS, room_max_members=5)
    statuses = at_once(
        12,
        lambda n: attempt(
            shared_table,
            f"c{n}",
            {"name": f"user{n}", "room": "small"},
            source_ip=f"198.51.100.{n}",
            settings=settings,
        ),
    )
    assert sorted(statuses) == [200] * 5 + [403] * 7


def test_one_address_holds_at_most_a_quarter_of_a_room(shared_table: Any) -> None:
    """Twelve connects at once from one address into a room of twenty: five (a quarter) in,
    the rest 429; another address still gets in."""
    settings = replace(SETTINGS, room_max_members=20)
    statuses = at_once(
        12,
        lambda n: attempt(
            shared_table,
            f"c{n}",
            {"name": f"user{n}", "room": "r"},
            source_ip="203.0.113.9",
            settings=settings,
        ),
    )
    assert sorted(statuses) == [200] * 5 + [429] * 7
    assert attempt(shared_table, "x", {"name": "x", "room": "r"}, source_ip="203.0.113.10") == 200


def test_one_address_cannot_fill_a_room_of_five(shared_table: Any) -> None:
    """The issue's room of five: one address gets one seat; four others still get in."""
    settings = replace(SETTINGS, room_max_members=5)

    def join(cid: str, ip: str) -> int:
        return attempt(
            shared_table, cid, {"name": cid, "room": "five"}, source_ip=ip, settings=settings
        )

    assert [join(f"m{n}", "203.0.113.66") for n in range(5)] == [200, 429, 429, 429, 429]
    assert [join(f"p{n}", f"198.51.100.{n}") for n in range(4)] == [200] * 4
    assert join("late", "198.51.100.99") == 403


def test_live_connections_are_capped_per_address_and_per_user_in_total(shared_table: Any) -> None:
    """Across rooms, an address holds at most LIVE_CONNECTIONS_TOTAL; so does a signed-in
    user from many addresses."""
    settings = replace(SETTINGS, live_connections_total=3)
    statuses = [
        attempt(shared_table, f"a{n}", {"name": "ann", "room": f"r{n}"}, source_ip="192.0.2.1",
                settings=settings)
        for n in range(5)
    ]  # fmt: skip
    assert statuses == [200, 200, 200, 429, 429]
    signed_in = replace(settings, auth_mode=AuthMode.COGNITO)
    user = SignedIn(user_id="user-1", name="Bea")
    statuses = [
        attempt(shared_table, f"b{n}", {"room": f"r{n}"}, source_ip=f"198.51.100.{n}",
                settings=signed_in, signed_in=user)
        for n in range(5)
    ]  # fmt: skip
    assert statuses == [200, 200, 200, 429, 429]


def test_a_signed_in_user_holds_at_most_a_quarter_of_a_room(shared_table: Any) -> None:
    """A user's tabs share one name; from any number of addresses, a quarter of the seats."""
    settings = replace(SETTINGS, auth_mode=AuthMode.COGNITO, room_max_members=8)
    user = SignedIn(user_id="user-2", name="Cy")
    statuses = [
        attempt(shared_table, f"c{n}", {"room": "eight"}, source_ip=f"198.51.100.{n}",
                settings=settings, signed_in=user)
        for n in range(4)
    ]  # fmt: skip
    assert statuses == [200, 200, 429, 429]


def counter(store: DynamoConnectionStore, key: str, attribute: str = LIVE_ATTRIBUTE) -> int:
    """A counter or claim item's count (0 when there is no item)."""
    client: Any = store._client
    item = client.get_item(
        TableName=store._table,
        Key={CONNECTION_ID_ATTRIBUTE: {"S": key}},
        ConsistentRead=True,
    ).get("Item", {})
    return int(item.get(attribute, {}).get("N", "0"))


def seated(store: DynamoConnectionStore, room: str) -> int:
    """The seats taken in ``room``: the sum of its seat shards (``chat.seats``)."""
    return sum(counter(store, f"seats#{room}#{k}") for k in range(ROOM_SHARDS))


def leave(store: DynamoConnectionStore, cid: str) -> None:
    """$disconnect ``cid``."""
    broadcaster: Any = type("Broadcaster", (), {"send": lambda *_: BroadcastStats()})()
    disconnect(
        ConnectionId(cid), store=store, broadcaster=broadcaster, settings=SETTINGS, now_ms=NOW_MS
    )


def test_disconnect_releases_seat_counters_and_name_once(shared_table: Any) -> None:
    """A $disconnect gives back the seat, the address's counts and the name; a second
    $disconnect of the same connection releases nothing more."""
    settings = replace(SETTINGS, room_max_members=4)
    alice = {"name": "alice", "room": "r", "key": name_test_key("alice")}
    assert attempt(shared_table, "a1", alice, source_ip="192.0.2.7", settings=settings) == 200
    assert attempt(shared_table, "b1", {"name": "bob", "room": "r"}, settings=settings) == 200
    assert seated(shared_table, "r") == 2
    assert counter(shared_table, "name#r#alice", HOLDERS_ATTRIBUTE) == 1
    leave(shared_table, "a1")
    leave(shared_table, "a1")  # $disconnect may come twice
    assert seated(shared_table, "r") == 1
    assert counter(shared_table, "name#r#alice", HOLDERS_ATTRIBUTE) == 0
    mallory = {"name": "alice", "room": "r", "key": name_test_key("mallory")}
    assert attempt(shared_table, "m1", mallory, source_ip="192.0.2.7", settings=settings) == 200


def test_a_pruned_connection_releases_what_it_held(shared_table: Any) -> None:
    """A recipient pruned after a 410 gives back its seat and name, once."""
    assert attempt(shared_table, "g1", {"name": "ghost", "room": "r"}, source_ip="192.0.2.8") == 200
    assert shared_table.prune(ConnectionId("g1"), NOW_MS + 1)
    assert shared_table.prune(ConnectionId("g1"), NOW_MS + 1)  # pruned again: nothing held
    assert seated(shared_table, "r") == 0
    assert counter(shared_table, "name#r#ghost", HOLDERS_ATTRIBUTE) == 0
    assert attempt(shared_table, "g2", {"name": "ghost", "room": "r"}) == 200


def test_a_lost_disconnect_frees_the_name_and_seats_when_they_expire(shared_table: Any) -> None:
    """Without a $disconnect, the name and the counts it held expire with the connection:
    past its expiry, another person takes the name and the counters start over."""
    settings = replace(SETTINGS, room_max_members=1)
    alice = {"name": "alice", "room": "solo", "key": name_test_key("alice")}
    assert attempt(shared_table, "a1", alice, settings=settings) == 200
    mallory = {"name": "alice", "room": "solo", "key": name_test_key("mallory")}
    assert attempt(shared_table, "m1", mallory, settings=settings) == 403
    later = NOW_MS + (settings.connection_ttl_seconds + 1) * 1000
    assert attempt(shared_table, "m2", mallory, settings=settings, now_ms=later) == 200
    assert seated(shared_table, "solo") == 1


def test_connect_never_reads_the_room(dynamodb: Any) -> None:
    """$connect makes the same two calls in a room of 3 and of 300: the connect-rate counter
    and one transaction; no Query, however many are in the room."""
    for size in (3, 300):
        room = f"room{size}"
        filler = DynamoConnectionStore(dynamodb, TABLE)
        for n in range(size):
            assert attempt(filler, f"{room}-{n}", {"name": f"m{n}", "room": room}) == 200
        recording = RecordingClient(dynamodb)
        store = DynamoConnectionStore(recording, TABLE)
        assert attempt(store, f"{room}-new", {"name": "new", "room": room}, source_ip="192.0.2.1")
        assert recording.names() == ["update_item", "transact_write_items"]


class Conflicting:
    """A client whose first ``conflicts`` transactions are cancelled by a conflict."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self.conflicts = conflicts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        """Cancel with ``TransactionConflict`` while conflicts remain, then write."""
        if self.conflicts:
            self.conflicts -= 1
            reasons = [{"Code": "None"}] * (len(request["TransactItems"]) - 1)
            raise BotoClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}, *reasons],
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**request)


def test_conflicting_connects_are_tried_again_then_refused_with_503(dynamodb: Any) -> None:
    """A transaction conflict is tried again; if conflicts persist, 503 and nothing stored."""
    store = DynamoConnectionStore(Conflicting(dynamodb, 2), TABLE)
    assert attempt(store, "c1", {"name": "ann"}) == 200
    store = DynamoConnectionStore(Conflicting(dynamodb, 100), TABLE)
    assert attempt(store, "c2", {"name": "bea"}) == 503
    assert "Item" not in dynamodb.get_item(
        TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": "c2"}}
    )


def test_a_guest_name_taken_moves_to_the_next_suffix(dynamodb: Any) -> None:
    """A guest whose generated name is held gets the first free suffix, by claim alone."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    assert attempt(store, "n1", {"name": "guest-beef-2"}) == 200
    for cid in ("g1", "g2"):
        assert attempt(store, cid, {}) == 200
    names = {
        item["name"]["S"]
        for item in dynamodb.scan(TableName=TABLE)["Items"]
        if item[CONNECTION_ID_ATTRIBUTE]["S"] in {"g1", "g2"}
    }
    assert names == {"guest-beef", "guest-beef-3"}


def test_counter_and_claim_items_expire_with_the_connection(dynamodb: Any) -> None:
    """Every counter and claim carries expiresAt no earlier than the connection's, and none
    is in the room index (they have no room)."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    assert attempt(store, "c1", {"name": "ann", "room": "r"}, source_ip="192.0.2.1") == 200
    items = dynamodb.scan(TableName=TABLE)["Items"]
    (conn,) = [i for i in items if i[CONNECTION_ID_ATTRIBUTE]["S"] == "c1"]
    held = [
        i for i in items if i[CONNECTION_ID_ATTRIBUTE]["S"].startswith(("seats#", "live#", "name#"))
    ]
    assert len(held) == 4
    assert all(i[TTL_ATTRIBUTE] == conn[TTL_ATTRIBUTE] and "room" not in i for i in held)


def test_a_disconnect_racing_a_prune_releases_once(shared_table: Any) -> None:
    """$disconnect and a 410 prune of one connection at once: only the call whose delete
    returned the item releases, so the seat comes back once, not twice."""
    for cid in ("stays", "goes"):
        assert attempt(shared_table, cid, {"name": cid, "room": "race"}) == 200

    def forget(n: int) -> int:
        if n % 2:
            shared_table.prune(ConnectionId("goes"), NOW_MS + 1)
        else:
            shared_table.remove(ConnectionId("goes"))
        return 0

    at_once(6, forget)
    assert seated(shared_table, "race") == 1
    assert counter(shared_table, "name#race#goes", HOLDERS_ATTRIBUTE) == 0
    assert counter(shared_table, "name#race#stays", HOLDERS_ATTRIBUTE) == 1


class Throttled(Conflicting):
    """A client whose transactions are cancelled by throttling."""

    def transact_write_items(self, **request: Any) -> Any:
        """Cancel with ``ThrottlingError`` on the first write."""
        reasons = [{"Code": "None"}] * (len(request["TransactItems"]) - 1)
        raise BotoClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "throttled"},
                "CancellationReasons": [*reasons, {"Code": "ThrottlingError"}],
            },
            "TransactWriteItems",
        )


def test_a_throttled_connect_is_a_store_error_not_a_refusal(dynamodb: Any) -> None:
    """A cancellation that says nothing about the caps (throttling) is not taken for a full
    room or a held name: it is a ``StoreError`` (the handler's logged 500)."""
    store = DynamoConnectionStore(Throttled(dynamodb, 0), TABLE)
    with pytest.raises(StoreError, match="ThrottlingError"):
        attempt(store, "c1", {"name": "ann"})


def test_a_failed_release_still_forgets_the_connection(dynamodb: Any, logs: Logs) -> None:
    """If releasing fails (throttled), $disconnect still learns who left and a warning names
    the connection; its seat comes back when the counter expires."""
    assert attempt(DynamoConnectionStore(dynamodb, TABLE), "c1", {"name": "ann"}) == 200
    gone = DynamoConnectionStore(Throttled(dynamodb, 0), TABLE).remove(ConnectionId("c1"))
    assert gone is not None
    assert gone.name == "ann"
    (warning,) = [r for r in logs.records if r["level"] == "WARN"]
    assert warning["connectionId"] == "c1"
    assert "ThrottlingError" in warning["error"]


def fill_seats(store: DynamoConnectionStore, room: str, shard: int, live: int) -> None:
    """Set seat shard ``shard`` of ``room`` to ``live`` taken seats (unexpired)."""
    client: Any = store._client
    client.put_item(
        TableName=store._table,
        Item={
            CONNECTION_ID_ATTRIBUTE: {"S": f"seats#{room}#{shard}"},
            LIVE_ATTRIBUTE: {"N": str(live)},
            TTL_ATTRIBUTE: {"N": str(NOW_MS // 1000 + 3600)},
        },
    )


def test_seat_shard_caps_sum_to_the_room_cap() -> None:
    """For any cap, the seat shards' caps add up to it exactly, and a small room keeps one."""
    for cap in (1, 2, 63, 64, 127, 128, 1000, 1001, 100_000, 100_007):
        shards = seat_shards(cap)
        assert 1 <= shards <= ROOM_SHARDS
        assert sum(shard_cap(cap, shards, k) for k in range(shards)) == cap
        assert min(shard_cap(cap, shards, k) for k in range(shards)) >= min(cap, 64)
    assert seat_shards(10) == 1
    assert seat_shards(100_000) == ROOM_SHARDS


def test_connect_costs_the_same_in_an_empty_and_a_nearly_full_room(shared_table: Any) -> None:
    """$connect into a 100,000-seat room with 99,920 seats taken makes the same calls, with
    the same number of writes, as into an empty room: it never reads the room, and its seat
    shard is one item among several, not the room's one hot counter."""
    settings = replace(SETTINGS, room_max_members=100_000)
    shards = seat_shards(100_000)
    for k in range(shards):
        fill_seats(shared_table, "big", k, shard_cap(100_000, shards, k) - 10)
    client = RecordingClient(shared_table._client)
    store = DynamoConnectionStore(client, shared_table._table)
    assert attempt(store, "x-empty", {"name": "ann", "room": "empty"}, settings=settings) == 200
    empty = list(client.calls)
    client.calls.clear()
    assert attempt(store, "x-big", {"name": "ann", "room": "big"}, settings=settings) == 200
    full = list(client.calls)
    assert [name for name, _ in full] == [name for name, _ in empty]
    assert [len(kw.get("TransactItems", [])) for _, kw in full] == [
        len(kw.get("TransactItems", [])) for _, kw in empty
    ]
    assert "query" not in {name for name, _ in full}
    assert seated(shared_table, "big") == 100_000 - 10 * shards + 1


def test_the_default_room_cap_admits_a_room_past_the_delivery_threshold(
    shared_table: Any,
) -> None:
    """With the default settings, a room of DEFAULT_DELIVERY_THRESHOLD members (the largest
    the sending invocation delivers itself) still admits the next: rooms grow into the
    delivery workers' range, whose figures the default cap follows."""
    cap = SETTINGS.room_max_members
    shards = seat_shards(cap)
    taken = [DEFAULT_DELIVERY_THRESHOLD // shards + (k < DEFAULT_DELIVERY_THRESHOLD % shards)
             for k in range(shards)]  # fmt: skip
    for k, live in enumerate(taken):
        fill_seats(shared_table, "crowd", k, min(live, shard_cap(cap, shards, k)))
    assert seated(shared_table, "crowd") == DEFAULT_DELIVERY_THRESHOLD
    assert attempt(shared_table, "next", {"name": "next", "room": "crowd"}) == 200


def test_a_full_seat_shard_sends_a_joiner_to_the_next_and_the_cap_stays_exact(
    shared_table: Any,
) -> None:
    """With 2 seat shards of 65, a joiner whose shard is full takes a seat in the other; once
    both are full, the room (130 seats taken) refuses."""
    settings = replace(SETTINGS, room_max_members=130)
    assert seat_shards(130) == 2
    own = shard_number("j1", 2)
    fill_seats(shared_table, "r2", own, 65)
    fill_seats(shared_table, "r2", 1 - own, 63)
    assert attempt(shared_table, "j1", {"name": "j1", "room": "r2"}, settings=settings) == 200
    assert counter(shared_table, f"seats#r2#{1 - own}") == 64
    assert attempt(shared_table, "j2", {"name": "j2", "room": "r2"}, settings=settings) == 200
    assert seated(shared_table, "r2") == 130
    assert attempt(shared_table, "j3", {"name": "j3", "room": "r2"}, settings=settings) == 403
    assert seated(shared_table, "r2") == 130
