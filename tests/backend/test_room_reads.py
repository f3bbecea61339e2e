"""Presence and member lists in a big room, through the handler on moto: ``join``,
``members``, ``$disconnect``, ``typing`` and a moderator's ``mute``/``kick``/``ban`` read a
bounded part of the connections table, whatever the room's size (docs/internals.md, "Big
rooms"); a small room's answers are the ones every other test checks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Final

import pytest
from chat.connection_items import connection_item
from chat.connection_table import DynamoConnectionStore
from chat.connections import (
    CONNECTION_ID_ATTRIBUTE,
    LIVE_ATTRIBUTE,
    MUTED_UNTIL_ATTRIBUTE,
    ROOM_SHARD_ATTRIBUTE,
    TTL_ATTRIBUTE,
    Connection,
    ConnectionId,
)
from chat.frames import MEMBERS_FRAME_BUDGET
from chat.jobs import DeliverySettings, Job
from chat.names import name_key
from chat.room_shards import ROOM_SHARDS
from chat.runtime import Runtime
from chat.seats import seat_key
from chat.usecases.rooms import MEMBERS_LISTED_MAX, MEMBERS_SAMPLE

from tests.backend.conftest import TABLE
from tests.backend.test_handler import NOW_MS, World, disconnect_event
from tests.backend.test_moderation import SECRET, SECRET_SHA256, connect, do, frames_of

ROOM: Final = "general"
LISTED: Final = 2_500
"""Index entries written straight into the room: more than twice what a room may hold and still
be listed whole (and than the notice's threshold check reads), so a whole-room read cannot pass
for a bounded one."""
SEATED: Final = 100_000
"""What the room's seat counters say it holds (the room's cap is 100,000)."""
THRESHOLD: Final = 100
"""The delivery workers' threshold: the room's notices go to jobs, as a big room's do."""


class Counting:
    """A DynamoDB client that records each call on the connections table with its answer."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.started = 0
        """Calls on the table begun."""
        self.ended = 0
        """Calls on the table that answered or raised: fewer than ``started`` while some run."""
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            tables = {kwargs.get("TableName"), *kwargs.get("RequestItems", {})}
            counted = TABLE in tables or name == "transact_write_items"
            if not counted:
                return method(**kwargs)
            with self._lock:
                self.started += 1
            try:
                answer = method(**kwargs)
                self.calls.append((name, kwargs, answer))
            finally:
                with self._lock:
                    self.ended += 1
            return answer

        return call

    def settle(self) -> None:
        """Wait until every call begun has ended, so that a request still running after its
        reader returned is counted too."""
        deadline = time.monotonic() + 10
        while self.ended < self.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def entries_read(self) -> int:
        """Room index entries the Queries read (``ScannedCount``: expired ones too)."""
        return sum(int(a.get("ScannedCount", 0)) for n, _, a in self.calls if n == "query")

    def items_read(self) -> int:
        """Items read on the table: index entries, and the items a batch read asked for."""
        asked = sum(
            len(kw["RequestItems"][TABLE]["Keys"])
            for n, kw, _ in self.calls
            if n == "batch_get_item"
        )
        return self.entries_read() + asked

    def names(self) -> list[str]:
        """The calls' method names."""
        return [name for name, _, _ in self.calls]


class ListQueue:
    """A ``JobQueue`` that keeps what it is sent."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def send(self, jobs: list[Job]) -> None:
        self.jobs.extend(jobs)


@dataclass
class BigWorld(World):
    """``World`` with delivery jobs past ``THRESHOLD``, as a big room's deployment has."""

    queue: ListQueue = field(default_factory=ListQueue)

    def runtime(self) -> Runtime:
        """The runtime, with the job queue."""
        delivery = DeliverySettings(queue_url="https://sqs.example/queue", threshold=THRESHOLD)
        return replace(super().runtime(), jobs=self.queue, delivery=delivery)


def fill_room(client: Any, entries: int, seated: int) -> None:
    """Write ``entries`` connections of ``ROOM`` straight into the table (its index lists them)
    and seat counters adding up to ``seated``, as a room that size would have."""
    expires = NOW_MS // 1000 + 3600
    for start in range(0, entries, 25):
        writes = [
            {
                "PutRequest": {
                    "Item": connection_item(
                        Connection(ConnectionId(f"x{i}="), ROOM, f"viewer{i}", NOW_MS, expires)
                    )
                }
            }
            for i in range(start, min(start + 25, entries))
        ]
        client.batch_write_item(RequestItems={TABLE: writes})
    for shard in range(ROOM_SHARDS):
        client.put_item(
            TableName=TABLE,
            Item={
                CONNECTION_ID_ATTRIBUTE: {"S": seat_key(ROOM, shard)},
                LIVE_ATTRIBUTE: {"N": str(seated // ROOM_SHARDS)},
                TTL_ATTRIBUTE: {"N": str(expires)},
            },
        )


@pytest.fixture
def big(dynamodb: Any) -> tuple[BigWorld, Counting]:
    """A room of ``SEATED`` connections by its counters, ``LISTED`` by its index, with a
    moderator (mod), bob on two connections and carol connected through the handler."""
    fill_room(dynamodb, LISTED, SEATED)
    client = Counting(dynamodb)
    world = BigWorld(client)
    world.settings = replace(
        world.settings, room_max_members=200_000, moderator_secret_sha256=SECRET_SHA256
    )
    for cid, name, ip in (
        ("m", "mod", "198.51.100.9"),
        ("b1", "bob", "198.51.100.2"),
        ("b2", "bob", "198.51.100.2"),
        ("c", "carol", "198.51.100.3"),
    ):
        assert connect(world, cid, name, ip=ip) == 200
    world.invoke(do("m", "moderate", secret=SECRET))
    client.calls.clear()
    return world, client


def seated_now() -> int:
    """The counters' sum: the written seats and the four connected through the handler."""
    return SEATED // ROOM_SHARDS * ROOM_SHARDS + 4


def test_join_in_a_big_room_reads_a_sample_and_counts_by_the_seats(
    big: tuple[BigWorld, Counting],
) -> None:
    """``join`` in a room of 100,000 reads about ``MEMBERS_SAMPLE`` index entries and the
    seat counters (not the 2,500 listed): its ``members`` frame counts the seats' connections,
    lists some names within 32 KiB and says it is not complete; nobody is told of the join."""
    world, client = big
    before = len(world.sender.frames("b1"))
    world.invoke(do("c", "join"))
    (frame,) = frames_of(world, "c", "members")
    assert frame["count"] == seated_now()
    assert frame["complete"] is False
    assert 0 < len(frame["members"]) <= MEMBERS_SAMPLE
    assert len(json.dumps(frame, separators=(",", ":")).encode()) <= MEMBERS_FRAME_BUDGET
    assert client.entries_read() <= MEMBERS_SAMPLE + ROOM_SHARDS
    assert client.items_read() <= MEMBERS_SAMPLE + 2 * ROOM_SHARDS
    assert client.names().count("query") <= 2 * ROOM_SHARDS
    assert client.names().count("batch_get_item") == 1
    assert len(world.sender.frames("b1")) == before


def test_members_in_a_big_room_reads_a_bounded_sample(big: tuple[BigWorld, Counting]) -> None:
    """``members`` answers as ``join`` does, for the same bounded reads."""
    world, client = big
    world.invoke(do("b1", "members"))
    (frame,) = frames_of(world, "b1", "members")
    assert (frame["count"], frame["complete"]) == (seated_now(), False)
    assert client.entries_read() <= MEMBERS_SAMPLE + ROOM_SHARDS
    assert client.items_read() <= MEMBERS_SAMPLE + 2 * ROOM_SHARDS


def test_disconnect_in_a_big_room_reads_the_seats_only(big: tuple[BigWorld, Counting]) -> None:
    """carol's ``$disconnect`` deletes her, releases what she held and reads the seat
    counters: the room is too big for a ``left`` notice, so its index is not read at all."""
    world, client = big
    before = len(world.sender.frames("b1"))
    world.invoke(disconnect_event("c"))
    assert world.item("c") is None
    assert "query" not in client.names()
    assert client.items_read() == ROOM_SHARDS
    assert len(client.calls) <= 4  # delete, release, the counters' batch read
    assert len(world.sender.frames("b1")) == before


def test_typing_in_a_big_room_reads_one_more_than_a_notice_allows(
    big: tuple[BigWorld, Counting],
) -> None:
    """``typing`` reads at most ``typing_notice_max_members + 1`` connections (and the shards'
    rounding), and tells nobody in a room that big."""
    world, client = big
    limit = world.settings.typing_notice_max_members
    before = len(world.sender.frames("c"))
    world.invoke(do("b1", "typing"))
    assert client.entries_read() <= limit + ROOM_SHARDS
    assert client.names().count("query") <= 2 * ROOM_SHARDS
    assert len(world.sender.frames("c")) == before


@pytest.mark.parametrize(
    ("action", "fields"), [("mute", {"seconds": 600}), ("kick", {}), ("ban", {"seconds": 600})]
)
def test_a_moderator_finds_the_target_by_its_name_claim(
    big: tuple[BigWorld, Counting], action: str, fields: dict[str, Any]
) -> None:
    """mute, kick and ban find bob's two connections by one read of his name's claim, not by
    reading the room: the only index entries read are the notice's check of the delivery
    threshold (a bounded read: the threshold and the shards' rounding), and the notice goes to
    the delivery jobs."""
    world, client = big
    world.invoke(do("m", action, name="BOB", **fields))
    assert client.entries_read() <= THRESHOLD + ROOM_SHARDS - 1
    claims = [kw for n, kw, _ in client.calls if n == "batch_get_item"]
    assert [
        k[CONNECTION_ID_ATTRIBUTE]["S"][:9]
        for kw in claims
        for k in kw["RequestItems"][TABLE]["Keys"]
    ] == ["name#gene"]
    assert world.queue.jobs  # the room's notice, through the workers
    if action == "mute":
        for cid in ("b1", "b2"):
            item = world.item(cid)
            assert item is not None
            assert int(item[MUTED_UNTIL_ATTRIBUTE]["N"]) == NOW_MS // 1000 + 600
    else:
        assert sorted(world.sender.deleted) == ["b1", "b2"]


def test_a_message_to_a_big_room_decides_on_a_bounded_read(big: tuple[BigWorld, Counting]) -> None:
    """A message to a room of 100,000 (2,500 in its index) with delivery jobs past
    ``THRESHOLD`` reads at most the threshold and the shards' rounding of the index to decide,
    leaves no request running once the invocation has answered, and goes to the jobs: one per
    shard, the sender's own copy posted by the invocation, nobody else's."""
    world, client = big
    before = len(world.sender.frames("b1"))
    world.invoke(do("c", "sendmessage", text="hello", clientId="c-1"))
    assert client.ended == client.started  # nothing left running after the answer
    client.settle()
    assert client.entries_read() <= THRESHOLD + ROOM_SHARDS - 1
    assert client.names().count("query") <= 2 * ROOM_SHARDS
    assert sorted(job.shard for job in world.queue.jobs) == sorted(
        f"{ROOM}#{k}" for k in range(ROOM_SHARDS)
    )
    (own,) = frames_of(world, "c", "message")
    assert (own["text"], own["clientId"]) == ("hello", "c-1")
    assert len(world.sender.frames("b1")) == before


def test_a_message_to_a_room_within_the_threshold_is_delivered_directly(
    dynamodb: Any,
) -> None:
    """With delivery jobs past ``THRESHOLD``, a room of exactly that many connections is read
    whole by the same bounded read and told directly: every member gets the message, the
    sender its own copy, and nothing is queued."""
    fill_room(dynamodb, THRESHOLD - 1, 0)
    world = BigWorld(dynamodb)
    assert connect(world, "c", "carol") == 200
    world.invoke(do("c", "sendmessage", text="hello", clientId="c-1"))
    assert world.queue.jobs == []
    assert set(world.sender.delivered) == {"c", *(f"x{i}=" for i in range(THRESHOLD - 1))}
    (own,) = frames_of(world, "c", "message")
    assert own["clientId"] == "c-1"


def test_a_room_within_the_limit_is_listed_whole(dynamodb: Any) -> None:
    """``list_members`` of a room of exactly ``limit`` entries, unevenly spread over the
    shards, reads them all (a short shard's unused share goes to the longer ones) and says it
    is complete; one entry more and it is not, for at most ``limit + ROOM_SHARDS - 1`` read."""
    fill_room(dynamodb, 1_000, 0)
    client = Counting(dynamodb)
    store = DynamoConnectionStore(client, TABLE)
    listing = store.list_members(ROOM, NOW_MS // 1000, 1_000)
    assert (len(listing.members), listing.complete) == (1_000, True)
    assert client.entries_read() == 1_000
    client.calls.clear()
    listing = store.list_members(ROOM, NOW_MS // 1000, 999)
    assert (len(listing.members), listing.complete) == (999, False)
    assert client.entries_read() <= 999 + ROOM_SHARDS - 1


class EndAtLimit:
    """A DynamoDB client whose Query answers as DynamoDB does when a page stops at its
    ``Limit`` on a partition's last entry: with a ``LastEvaluatedKey`` all the same ("If
    LastEvaluatedKey is not empty, it does not necessarily mean that there is more data in the
    result set"); moto leaves it out."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **kwargs: Any) -> Any:
        answer: dict[str, Any] = self._client.query(**kwargs)
        items = answer.get("Items", [])
        if items and "LastEvaluatedKey" not in answer and answer["ScannedCount"] == kwargs["Limit"]:
            answer["LastEvaluatedKey"] = {
                CONNECTION_ID_ATTRIBUTE: items[-1][CONNECTION_ID_ATTRIBUTE],
                ROOM_SHARD_ATTRIBUTE: kwargs["ExpressionAttributeValues"][":shard"],
            }
        return answer


def test_a_room_of_exactly_the_limit_is_complete_when_the_last_page_ends_at_its_limit(
    dynamodb: Any,
) -> None:
    """A room of exactly ``limit`` entries is listed whole and complete even though DynamoDB
    answers a page that stopped at its ``Limit`` on the shard's last entry with a
    ``LastEvaluatedKey``: one more entry is asked for to tell an end from more (a message to
    a room of exactly the delivery threshold stays on the direct path)."""
    fill_room(dynamodb, 1_000, 0)
    client = Counting(EndAtLimit(dynamodb))
    listing = DynamoConnectionStore(client, TABLE).list_members(ROOM, NOW_MS // 1000, 1_000)
    assert (len(listing.members), listing.complete) == (1_000, True)
    assert client.entries_read() == 1_000
    client.calls.clear()
    fill_room(dynamodb, 1_001, 0)
    listing = DynamoConnectionStore(client, TABLE).list_members(ROOM, NOW_MS // 1000, 1_000)
    assert (len(listing.members), listing.complete) == (1_000, False)
    assert client.entries_read() <= 1_000 + ROOM_SHARDS - 1


def test_a_name_claim_records_its_connections(dynamodb: Any) -> None:
    """The claim of bob's name lists both his connections while they hold it, one after the
    other leaves, none once both have (``name_holders``)."""
    world = World(dynamodb)
    for cid in ("b1", "b2"):
        assert connect(world, cid, "bob") == 200
    store = DynamoConnectionStore(dynamodb, TABLE)
    now_s = NOW_MS // 1000
    assert store.name_holders(ROOM, name_key("bob"), now_s) == ["b1", "b2"]
    world.invoke(disconnect_event("b1"))
    assert store.name_holders(ROOM, name_key("bob"), now_s) == ["b2"]
    world.invoke(disconnect_event("b2"))
    assert store.name_holders(ROOM, name_key("bob"), now_s) == []
    assert store.name_holders(ROOM, name_key("nobody"), now_s) == []


def test_live_connections_sums_the_unexpired_seat_shards(dynamodb: Any) -> None:
    """The room's count is its seat shards' ``live`` sum; an expired shard counts nothing."""
    fill_room(dynamodb, 0, 800)
    store = DynamoConnectionStore(dynamodb, TABLE)
    assert store.live_connections(ROOM, NOW_MS // 1000) == 800
    assert store.live_connections(ROOM, NOW_MS // 1000 + 3600) == 0
    assert store.live_connections("elsewhere", NOW_MS // 1000) == 0


def test_a_room_past_the_listing_limit_under_the_default_cap(dynamodb: Any) -> None:
    """With the default room cap (no counters read first), a room whose index holds more than
    ``MEMBERS_LISTED_MAX`` connections is read for at most that many (and the shards'
    rounding), then counted by its seat counters: ``complete`` false."""
    fill_room(dynamodb, MEMBERS_LISTED_MAX + 200, MEMBERS_LISTED_MAX + 200)
    client = Counting(dynamodb)
    world = World(client)
    DynamoConnectionStore(dynamodb, TABLE).put(
        Connection(ConnectionId("c"), ROOM, "carol", NOW_MS, NOW_MS // 1000 + 3600)
    )
    world.invoke(do("c", "members"))
    (frame,) = frames_of(world, "c", "members")
    assert (frame["count"], frame["complete"]) == (MEMBERS_LISTED_MAX + 200, False)
    assert client.entries_read() <= MEMBERS_LISTED_MAX + ROOM_SHARDS - 1
    assert client.names().count("batch_get_item") == 1
