"""Benchmark 6, connect cost: the DynamoDB units of one ``$connect`` into an empty room and
into a room of ``members`` members.

The connections table (``chat.connections.TABLE_SCHEMA``) in moto's DynamoDB holds the big room
written directly: ``members`` connection items in its index shards (``bench.readcost``'s items)
and its seat shards' counters at that many seats taken (``chat.seats``), under a room cap above
it. Then the product's ``chat.usecases.connect.connect`` admits one guest (with a source
address, so its address counters are taken too) into an empty room and one into the big room,
through a client that records every request.

moto reports no real capacity, so units are computed with DynamoDB's rules
(``bench.capacity``) from the items each request touched, read before and after it: a write
costs 1 unit per 1 KB of the larger of the item's two sizes, twice that inside
``TransactWriteItems`` (``ConditionCheck``s too); a write that adds, changes or removes an
entry of ``room-index`` costs the index 1 unit per 1 KB of that entry (2 when its key moved); a
``GetItem`` costs 1 unit per 4 KB (half when eventually consistent), a ``Query`` half a unit per
4 KB of what it read. The target: the same units in both rooms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from bench.aws import REGION, local_session
from bench.capacity import TRANSACTIONAL, item_size, read_units, strong_read_units, write_units
from bench.measure import Target
from bench.paths import use_backend
from bench.readcost import populate, room_name
from local_stack.dynamodb import MotoServer, create_table

use_backend()

from chat.config import Settings  # noqa: E402
from chat.connection_table import DynamoConnectionStore  # noqa: E402
from chat.connections import (  # noqa: E402
    CONNECTION_ID_ATTRIBUTE,
    LIVE_ATTRIBUTE,
    ROOM_INDEX_ATTRIBUTES,
    ROOM_SHARD_ATTRIBUTE,
    TTL_ATTRIBUTE,
    ConnectionId,
)
from chat.seats import seat_key, seat_shards, shard_cap  # noqa: E402
from chat.usecases.connect import connect  # noqa: E402

NAME: Final = "connectcost"
_INDEX_ENTRY: Final = (CONNECTION_ID_ATTRIBUTE, ROOM_SHARD_ATTRIBUTE, *ROOM_INDEX_ATTRIBUTES)
_WRITES: Final = ("put_item", "update_item", "delete_item")
_TRANSACT_KINDS: Final = ("Put", "Update", "Delete", "ConditionCheck")


@dataclass(frozen=True)
class ConnectCostConfig:
    """The big room's size."""

    members: int = 100_000


class UnitCounter:
    """A boto3 DynamoDB client that records each request's units (module docstring), reading
    the items a write touches before and after it through the same client."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self.requests: list[dict[str, Any]] = []

    def __getattr__(self, operation: str) -> Any:
        call = getattr(self._client, operation)
        if operation not in self._client.meta.method_to_api_mapping:
            return call  # not a request: ``exceptions``, ``meta``

        def recorded(**request: Any) -> Any:
            if operation in _WRITES:
                return self._write(operation, call, request, [self._key(request)], 1)
            if operation == "transact_write_items":
                keys = [self._key(next(iter(i.values()))) for i in request["TransactItems"]]
                return self._write(operation, call, request, keys, TRANSACTIONAL)
            answer = call(**request)
            self._read(operation, request, answer)
            return answer

        return recorded

    @staticmethod
    def _key(action: dict[str, Any]) -> dict[str, Any]:
        if "Key" in action:
            return dict(action["Key"])
        return {CONNECTION_ID_ATTRIBUTE: action["Item"][CONNECTION_ID_ATTRIBUTE]}

    def _item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        answer = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _write(
        self,
        operation: str,
        call: Callable[..., Any],
        request: dict[str, Any],
        keys: list[dict[str, Any]],
        factor: int,
    ) -> Any:
        before = [self._item(key) for key in keys]
        try:
            return call(**request)
        finally:
            after = [self._item(key) for key in keys]
            units = sum(
                write_units(max(item_size(old or {}), item_size(new or {})), factor=factor)
                for old, new in zip(before, after, strict=True)
            )
            index = sum(_index_units(old, new) for old, new in zip(before, after, strict=True))
            self.requests.append(
                {"operation": operation, "items": len(keys), "write_units": units + index}
            )

    def _read(self, operation: str, request: dict[str, Any], answer: Any) -> None:
        if operation == "get_item":
            size = item_size(answer.get("Item") or {})
            strong = bool(request.get("ConsistentRead"))
            units = strong_read_units(size) if strong else read_units(size)
        elif operation == "query":
            units = read_units(sum(item_size(item) for item in answer.get("Items", [])))
        else:
            raise RuntimeError(f"connect cost: {operation} has no cost rule here")
        self.requests.append({"operation": operation, "items": 1, "read_units": units})


def _index_units(old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """Write units ``room-index`` spends when an item goes from ``old`` to ``new``."""
    entries = [
        item_size(item, _INDEX_ENTRY)
        for item in (old, new)
        if item is not None and ROOM_SHARD_ATTRIBUTE in item
    ]
    if not entries:
        return 0
    moved = (
        old is not None
        and new is not None
        and len(entries) == 2
        and old[ROOM_SHARD_ATTRIBUTE] != new[ROOM_SHARD_ATTRIBUTE]
    )
    return sum(write_units(size) for size in entries) if moved else write_units(max(entries))


def _fill_seats(client: Any, table: str, room: str, members: int, cap: int) -> None:
    """The room's seat shards holding ``members`` seats in all, each under its cap."""
    shards = seat_shards(cap)
    taken = [members // shards + (k < members % shards) for k in range(shards)]
    for k, live in enumerate(taken):
        if live > shard_cap(cap, shards, k):
            raise RuntimeError(f"seat shard {k} would hold {live}, over its cap")
        client.put_item(
            TableName=table,
            Item={
                CONNECTION_ID_ATTRIBUTE: {"S": seat_key(room, k)},
                LIVE_ATTRIBUTE: {"N": str(live)},
                TTL_ATTRIBUTE: {"N": str(int(time.time()) + 3600)},
            },
        )


def _connect(counter: UnitCounter, table: str, room: str, n: int, cap: int) -> dict[str, Any]:
    settings = Settings(table_name=table, messages_table_name="messages", room_max_members=cap)
    counter.requests.clear()
    connect(
        ConnectionId(f"joiner-{n}="),
        {"name": f"joiner{n}", "room": room},
        None,
        store=DynamoConnectionStore(counter, table),
        settings=settings,
        now_ms=int(time.time() * 1000),
        guest_name=lambda: "guest",
        source_ip=f"192.0.2.{n}",
    )
    return _total(counter.requests)


def _total(requests: Iterable[dict[str, Any]]) -> dict[str, Any]:
    listed = list(requests)
    return {
        "requests": [f"{r['operation']}({r['items']})" for r in listed],
        "write_units": sum(r.get("write_units", 0) for r in listed),
        "read_units": sum(r.get("read_units", 0.0) for r in listed),
    }


def run(config: ConnectCostConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the connect-cost benchmark; return its JSON-able results."""
    big = room_name(0)  # readcost's items of room 0, ``members`` of them
    cap = config.members + config.members // 10 + 8  # room for the joiner in every seat shard
    say("connect cost: starting moto's DynamoDB")
    with MotoServer() as database:
        client = local_session().client(
            "dynamodb", endpoint_url=database.endpoint, region_name=REGION
        )
        table = "bench-connectcost"
        create_table(database.endpoint, table, REGION)
        say(f"connect cost: writing a room of {config.members} members")
        fill_s = populate(client, table, config.members, config.members)
        _fill_seats(client, table, big, config.members, cap)
        counter = UnitCounter(client, table)
        empty = _connect(counter, table, "empty-room", 1, cap)
        full = _connect(counter, table, big, 2, cap)
    say(
        f"connect cost: empty room {empty['write_units']} WCU {empty['read_units']:g} RCU, "
        f"room of {config.members} {full['write_units']} WCU {full['read_units']:g} RCU"
    )
    return {
        "members": config.members,
        "room_cap": cap,
        "fill_s": fill_s,
        "empty": empty,
        "full": full,
        "write_ratio": full["write_units"] / max(1, empty["write_units"]),
    }


def targets(results: dict[str, Any]) -> list[Target]:
    """``$connect`` costs the same units in an empty room and in a full one."""
    empty, full = results["empty"], results["full"]
    same = (empty["write_units"], empty["read_units"]) == (full["write_units"], full["read_units"])
    return [
        Target(
            NAME,
            f"$connect units, empty room against a room of {results['members']:,}",
            "the same",
            f"{empty['write_units']} and {full['write_units']} WCU, "
            f"{empty['read_units']:g} and {full['read_units']:g} RCU",
            same,
        )
    ]
