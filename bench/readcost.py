"""Benchmark 3, read cost: what one broadcast reads from DynamoDB, against a Scan.

Two tables in moto's DynamoDB (the schema of ``chat.connections.TABLE_SCHEMA``), of
``small_table`` and ``large_table`` connections, each holding a room of ``room_size`` (the other
connections are in rooms of the same size). Per broadcast:

- the backend's read: ``chat.connection_table.DynamoConnectionStore.members``, a paginated
  Query on ``room-index``, through a client that counts what each call read;
- the baseline: a Scan of the table filtered on the room, as the AWS samples read their
  connections (they Scan the whole table on every message).

moto reports ``ScannedCount`` (items read) faithfully but a made-up ``ConsumedCapacity``, so read
units are computed with DynamoDB's rule: the sizes of all items *read* (not returned) in one
request, rounded up to 4 KB, half a unit per 4 KB for eventually consistent reads (a GSI Query
always is; the Scan is too by default). An index entry holds the table key, the index key and
the projected ``expiresAt``, ``name`` and ``connectedAt``; a Scan reads whole items. Every
generated item has the same size, so a page's bytes are its ``ScannedCount`` times that size.
moto's wall times are not DynamoDB's (moto walks the whole table even for an index Query) and
are given for information.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from bench.aws import REGION, local_session
from bench.capacity import item_size, read_units
from bench.measure import Target
from bench.paths import use_backend
from local_stack.dynamodb import MotoServer, create_table

use_backend()

from chat.connection_table import DynamoConnectionStore  # noqa: E402
from chat.connections import (  # noqa: E402
    CONNECTION_ID_ATTRIBUTE,
    ROOM_ATTRIBUTE,
    ROOM_INDEX_ATTRIBUTES,
    ROOM_SHARD_ATTRIBUTE,
)
from chat.room_shards import room_shard  # noqa: E402

NAME: Final = "readcost"
_BATCH: Final = 25  # BatchWriteItem's limit
_WRITERS: Final = 4
# An index entry: the table key, the index key (the room's shard) and the projected attributes.
_INDEX_ATTRIBUTES: Final = (CONNECTION_ID_ATTRIBUTE, ROOM_SHARD_ATTRIBUTE, *ROOM_INDEX_ATTRIBUTES)


@dataclass(frozen=True)
class ReadCostConfig:
    """Table and room sizes."""

    small_table: int = 1_000
    large_table: int = 100_000
    room_size: int = 100


def room_name(index: int) -> str:
    """The room of the ``index``-th room (fixed width, so every item has the same size)."""
    return f"r{index:09d}"


def make_item(index: int, room_size: int) -> dict[str, dict[str, str]]:
    """The ``index``-th connection; connections 0..room_size-1 are in room 0, and so on.

    Numbers are odd, so no trailing zero shortens one: every item has the same size.
    """
    connection_id = f"C{index:014d}="
    room = room_name(index // room_size)
    return {
        CONNECTION_ID_ATTRIBUTE: {"S": connection_id},
        ROOM_ATTRIBUTE: {"S": room},
        ROOM_SHARD_ATTRIBUTE: {"S": room_shard(room, connection_id)},
        "name": {"S": f"g{index:09d}"},
        "connectedAt": {"N": str(1_795_610_096_001 + 2 * index)},
        "expiresAt": {"N": str(4_000_000_001 + 2 * index)},
    }


class CountingClient:
    """A boto3 DynamoDB client whose ``query`` and ``scan`` record what each call read."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[dict[str, Any]] = []

    def query(self, **request: Any) -> Any:
        """``Query`` with ``ReturnConsumedCapacity=TOTAL``, recorded."""
        return self._record("query", self._client.query(ReturnConsumedCapacity="TOTAL", **request))

    def scan(self, **request: Any) -> Any:
        """``Scan`` with ``ReturnConsumedCapacity=TOTAL``, recorded."""
        return self._record("scan", self._client.scan(ReturnConsumedCapacity="TOTAL", **request))

    def _record(self, operation: str, page: Any) -> Any:
        self.calls.append(
            {
                "operation": operation,
                "scanned": int(page.get("ScannedCount", 0)),
                "returned": int(page.get("Count", 0)),
                "moto_capacity": float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0)),
            }
        )
        return page


def populate(client: Any, table: str, count: int, room_size: int) -> float:
    """Write ``count`` items with BatchWriteItem from a few threads; return the seconds."""

    def batches() -> Iterator[list[dict[str, Any]]]:
        for start in range(0, count, _BATCH):
            yield [
                {"PutRequest": {"Item": make_item(index, room_size)}}
                for index in range(start, min(start + _BATCH, count))
            ]

    def write(batch: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {table: batch}
        while request:
            answer = client.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        for _ in pool.map(write, batches()):
            pass
    return time.perf_counter() - started


def _query_cost(client: Any, table: str, room: str, index_entry_bytes: int) -> dict[str, Any]:
    counting = CountingClient(client)
    store = DynamoConnectionStore(counting, table)
    started = time.perf_counter()
    members = list(store.members(room, int(time.time())))
    elapsed = time.perf_counter() - started
    return _cost(counting.calls, len(members), index_entry_bytes, elapsed)


def _scan_cost(client: Any, table: str, room: str, item_bytes: int) -> dict[str, Any]:
    counting = CountingClient(client)
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#room = :room",
        "ExpressionAttributeNames": {"#room": ROOM_ATTRIBUTE},
        "ExpressionAttributeValues": {":room": {"S": room}},
    }
    started = time.perf_counter()
    found = 0
    while True:
        page = counting.scan(**request)
        found += len(page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    elapsed = time.perf_counter() - started
    return _cost(counting.calls, found, item_bytes, elapsed)


def _cost(
    calls: list[dict[str, Any]], found: int, bytes_per_item: int, elapsed: float
) -> dict[str, Any]:
    return {
        "requests": len(calls),
        "items_read": sum(call["scanned"] for call in calls),
        "items_returned": found,
        "read_units": sum(read_units(call["scanned"] * bytes_per_item) for call in calls),
        "moto_reported_units": sum(call["moto_capacity"] for call in calls),
        "moto_wall_s": elapsed,
    }


def run(config: ReadCostConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the read-cost benchmark; return its JSON-able results."""
    room = room_name(0)
    sample = make_item(0, config.room_size)
    sizes = {item_size(make_item(i, config.room_size)) for i in (0, config.large_table - 1)}
    if len(sizes) != 1:
        raise RuntimeError(f"generated items differ in size ({sizes}); the cost model needs one")
    item_bytes = item_size(sample)
    index_entry_bytes = item_size(sample, _INDEX_ATTRIBUTES)
    rows: list[dict[str, Any]] = []
    say("read cost: starting moto's DynamoDB")
    with MotoServer() as database:
        client = local_session().client(
            "dynamodb", endpoint_url=database.endpoint, region_name=REGION
        )
        for size in (config.small_table, config.large_table):
            table = f"bench-readcost-{size}"
            create_table(database.endpoint, table, REGION)
            say(f"read cost: writing {size} connections")
            populate_s = populate(client, table, size, config.room_size)
            query = _query_cost(client, table, room, index_entry_bytes)
            scan = _scan_cost(client, table, room, item_bytes)
            if query["items_returned"] != config.room_size:
                raise RuntimeError(
                    f"the room query found {query['items_returned']} of {config.room_size}"
                )
            rows.append(
                {
                    "table_items": size,
                    "room_size": config.room_size,
                    "populate_s": populate_s,
                    "query": query,
                    "scan": scan,
                    "units_ratio": scan["read_units"] / query["read_units"],
                }
            )
            say(
                f"read cost: {size} connections: the Query read {query['items_read']} items "
                f"({query['read_units']} RCU), the Scan {scan['items_read']} "
                f"({scan['read_units']} RCU)"
            )
    return {
        "item_bytes": item_bytes,
        "index_entry_bytes": index_entry_bytes,
        "rows": rows,
    }


def targets(results: dict[str, Any]) -> list[Target]:
    """The cost follows the room: the Query reads the same in a small and a large table."""
    small, large = results["rows"][0], results["rows"][-1]
    same = (
        small["query"]["items_read"] == large["query"]["items_read"] == small["room_size"]
        and small["query"]["read_units"] == large["query"]["read_units"]
    )
    return [
        Target(
            NAME,
            f"room of {small['room_size']}: items read, tables of "
            f"{small['table_items']} and {large['table_items']}",
            "same (the room's size)",
            f"{small['query']['items_read']} and {large['query']['items_read']} items, "
            f"{small['query']['read_units']:g} and {large['query']['read_units']:g} RCU",
            same,
        )
    ]
