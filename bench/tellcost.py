"""Tell cost: the DynamoDB read units one message pays to choose between the direct path and the
delivery workers (``chat.usecases.rooms.tell_room``, threshold ``DEFAULT_DELIVERY_THRESHOLD``),
in rooms of 10, 1,000, 1,001 and 100,000 connections.

    .venv/bin/python -m bench.tellcost            # the four sizes (writing 100,000 takes ~1 min)
    .venv/bin/python -m bench.tellcost 10 1000    # some sizes only

Three ways to decide, each run on moto's DynamoDB (in process) through a client that records
every request, started and finished:

- ``prefix``: the first threshold + 1 members of ``DynamoConnectionStore.members`` (the shards'
  parallel pages; the decision before this change), then every request it had started;
- ``bounded``: ``list_members(room, now, threshold)`` (the decision now);
- ``counters``: the seat counters (``live_connections``) first, then ``bounded`` when they
  hold at most the threshold (what ``join`` does when the room cap is above its limit).

Units follow DynamoDB's rules (``bench.capacity``): a Query pays half a unit per 4 KB of the
index entries it read (an entry: the table key, the index key and the projected attributes);
at least half a unit; a ``BatchGetItem`` half a unit per item (each under 4 KB), found or
not. The delivery workers' own reads (the whole room, one shard each) are the same in every
way and are not counted.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from bench.capacity import attribute_size, item_size, read_units
from bench.paths import use_backend

use_backend()

import boto3  # noqa: E402
from chat.connection_items import connection_item  # noqa: E402
from chat.connection_table import DynamoConnectionStore  # noqa: E402
from chat.connections import (  # noqa: E402
    CONNECTION_ID_ATTRIBUTE,
    LIVE_ATTRIBUTE,
    ROOM_SHARD_ATTRIBUTE,
    TABLE_SCHEMA,
    TTL_ATTRIBUTE,
    Connection,
    ConnectionId,
)
from chat.jobs import DEFAULT_DELIVERY_THRESHOLD  # noqa: E402
from chat.room_shards import ROOM_SHARDS  # noqa: E402
from chat.seats import seat_key  # noqa: E402
from moto import mock_aws  # noqa: E402

TABLE: Final = "tellcost-connections"
SIZES: Final = (10, 1_000, 1_001, 100_000)
NOW_S: Final = 1_795_610_096
_BATCH: Final = 25
_QUERY_MIN: Final = 0.5  # a Query that reads nothing still pays an eventually consistent read
_OPEN: list[Generator[Any, None, None]] = []  # ``prefix``'s reader, left open as before


class Recording:
    """A DynamoDB client that records each request's read units when its answer arrives, and
    counts the requests started, so a request still running can be seen."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.started = 0
        self.units: list[float] = []
        self.entries = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            with self._lock:
                self.started += 1
            answer = method(**kwargs)
            with self._lock:
                self._record(name, kwargs, answer)
            return answer

        return call

    def _record(self, name: str, request: dict[str, Any], answer: dict[str, Any]) -> None:
        if name == "query":
            shard = request["ExpressionAttributeValues"][":shard"]
            key = attribute_size(ROOM_SHARD_ATTRIBUTE, shard)
            size = sum(item_size(item) + key for item in answer.get("Items", []))
            self.units.append(max(_QUERY_MIN, read_units(size)))
            self.entries += int(answer.get("ScannedCount", 0))
        elif name == "batch_get_item":
            keys = [k for table in request["RequestItems"].values() for k in table["Keys"]]
            self.units.append(0.5 * len(keys))
        else:
            raise RuntimeError(f"tell cost: {name} has no cost rule here")

    def settle(self) -> None:
        """Wait until every request started has answered."""
        while len(self.units) < self.started:
            time.sleep(0.01)


def fill(client: Any, room: str, size: int) -> None:
    """``size`` connections of ``room`` (ids, names and owners as long as real ones) and seat
    counters adding up to ``size``."""
    expires = NOW_S + 3600
    for start in range(0, size, _BATCH):
        client.batch_write_item(
            RequestItems={
                TABLE: [
                    {
                        "PutRequest": {
                            "Item": connection_item(
                                Connection(
                                    ConnectionId(f"{room[:4]}{i:011d}="),
                                    room,
                                    f"viewer{i}",
                                    1_795_610_096_001 + 2 * i,
                                    expires,
                                    owner=f"key:{i:040d}",
                                )
                            )
                        }
                    }
                    for i in range(start, min(start + _BATCH, size))
                ]
            }
        )
    for shard in range(ROOM_SHARDS):
        live = size // ROOM_SHARDS + (shard < size % ROOM_SHARDS)
        client.put_item(
            TableName=TABLE,
            Item={
                CONNECTION_ID_ATTRIBUTE: {"S": seat_key(room, shard)},
                LIVE_ATTRIBUTE: {"N": str(live)},
                TTL_ATTRIBUTE: {"N": str(expires)},
            },
        )


def prefix(store: DynamoConnectionStore, room: str, threshold: int) -> bool:
    """The decision before: the first threshold + 1 members of the shards' parallel pages."""
    listed = store.members(room, NOW_S)
    if isinstance(listed, Generator):  # closed once the requests still running are counted
        _OPEN.append(listed)
    return len(list(islice(listed, threshold + 1))) > threshold


def bounded(store: DynamoConnectionStore, room: str, threshold: int) -> bool:
    """The decision now: one bounded read."""
    return not store.list_members(room, NOW_S, threshold).complete


def counters(store: DynamoConnectionStore, room: str, threshold: int) -> bool:
    """The seat counters first, then the bounded read when they hold no more than it."""
    if store.live_connections(room, NOW_S) > threshold:
        return True
    return bounded(store, room, threshold)


WAYS: Final[dict[str, Callable[[DynamoConnectionStore, str, int], bool]]] = {
    "prefix": prefix,
    "bounded": bounded,
    "counters": counters,
}


@dataclass(frozen=True)
class Cost:
    """What one way of deciding cost in one room."""

    size: int
    way: str
    read_units: float
    requests: int
    entries: int
    running: int
    """Requests still running when the decision was made."""
    jobs: bool


def measure(sizes: list[int], threshold: int = DEFAULT_DELIVERY_THRESHOLD) -> list[Cost]:
    """Every way's cost in a room of each size (module docstring)."""
    costs = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(TableName=TABLE, **copy.deepcopy(TABLE_SCHEMA))
        for size in sizes:
            room = f"room{size}"
            fill(client, room, size)
            for name, way in WAYS.items():
                recording = Recording(client)
                jobs = way(DynamoConnectionStore(recording, TABLE), room, threshold)
                running = recording.started - len(recording.units)
                while _OPEN:
                    _OPEN.pop().close()
                recording.settle()
                costs.append(
                    Cost(
                        size,
                        name,
                        sum(recording.units),
                        recording.started,
                        recording.entries,
                        running,
                        jobs,
                    )
                )
    return costs


def main(sizes: list[int]) -> None:
    """Print, for each room size and way, the units, requests, entries and the decision."""
    print(f"threshold {DEFAULT_DELIVERY_THRESHOLD}: read units per message to decide")
    for cost in measure(sizes):
        print(
            f"room of {cost.size:>7,} {cost.way:>8}: {cost.read_units:6g} RU, "
            f"{cost.requests:2} requests, {cost.entries:6} entries, "
            f"{cost.running} still running, {'jobs' if cost.jobs else 'direct'}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or list(SIZES))
