"""Benchmark 5, history cost: what one history page reads, against reading the room.

A messages table in moto's DynamoDB (``chat.messages.TABLE_SCHEMA``) holds a room of
``small_room`` messages and a room of ``large_room`` messages. For a page of ``page`` messages,
each read through ``chat.message_table.DynamoMessageStore.read`` with a client that counts what each
call read (``ScannedCount``):

- the newest page (a client joining), a page ``before`` the middle of the room (scrolling
  back), and a page ``after`` the middle (catching up after a reconnect);
- the baseline: the room's whole partition, paginated (what a chat without a key condition
  would read to show the same page).

Read units follow DynamoDB's rule (all items read in one request, rounded up to 4 KB; a
strongly consistent read costs one unit per 4 KB), from the generated items' exact size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from bench.aws import REGION, local_session
from bench.capacity import item_size, strong_read_units
from bench.measure import Target
from bench.paths import use_backend
from bench.readcost import CountingClient
from local_stack.dynamodb import MotoServer, create_table

use_backend()

from chat.ids import encode_ulid  # noqa: E402
from chat.message_table import DynamoMessageStore  # noqa: E402
from chat.messages import TABLE_SCHEMA  # noqa: E402
from chat.stored import Direction  # noqa: E402

NAME: Final = "historycost"
_BATCH: Final = 25
_WRITERS: Final = 4
_SENT_MS: Final = 1_795_610_096_001
_RETENTION_S: Final = 7 * 24 * 3600
_TEXT: Final = "a typical chat message of some forty-odd chars"


@dataclass(frozen=True)
class HistoryCostConfig:
    """Room sizes and the page size."""

    small_room: int = 1_000
    large_room: int = 100_000
    page: int = 50


def make_message(room: str, index: int) -> dict[str, dict[str, str]]:
    """The ``index``-th message of ``room``, one millisecond apart; every item the same size."""
    sent_ms = _SENT_MS + 2 * index
    return {
        "room": {"S": room},
        "id": {"S": encode_ulid(sent_ms, index)},
        "from": {"S": f"u{index % 1000:03d}"},
        "text": {"S": _TEXT},
        "sentAt": {"N": str(sent_ms)},
        "expiresAt": {"N": str(sent_ms // 1000 + _RETENTION_S)},
    }


def _populate(client: Any, table: str, room: str, count: int) -> float:
    def batches() -> Iterator[list[dict[str, Any]]]:
        for start in range(0, count, _BATCH):
            yield [
                {"PutRequest": {"Item": make_message(room, index)}}
                for index in range(start, min(start + _BATCH, count))
            ]

    def write(batch: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {table: batch}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        for _ in pool.map(write, batches()):
            pass
    return time.perf_counter() - started


def _page_cost(
    client: Any, table: str, room: str, *, direction: Direction, cursor: str | None, page: int
) -> dict[str, Any]:
    counting = CountingClient(client)
    store = DynamoMessageStore(counting, table)
    now_s = _SENT_MS // 1000 + 3600
    read = store.read(room, direction, cursor, page, now_s=now_s, retention_s=_RETENTION_S)
    return {
        "requests": len(counting.calls),
        "items_read": sum(call["scanned"] for call in counting.calls),
        "items_returned": len(read.messages),
        "more": read.more,
    }


def _room_cost(client: Any, table: str, room: str) -> dict[str, Any]:
    counting = CountingClient(client)
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#room = :room",
        "ExpressionAttributeNames": {"#room": "room"},
        "ExpressionAttributeValues": {":room": {"S": room}},
        "ConsistentRead": True,
    }
    while True:
        answer = counting.query(**request)
        if not answer.get("LastEvaluatedKey"):
            break
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return {
        "requests": len(counting.calls),
        "items_read": sum(call["scanned"] for call in counting.calls),
        "calls": counting.calls,
    }


def run(config: HistoryCostConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the history-cost benchmark; return its JSON-able results."""
    item_bytes = item_size(make_message("r-large", 0))
    rows: list[dict[str, Any]] = []
    say("history cost: starting moto's DynamoDB")
    with MotoServer() as database:
        client = local_session().client(
            "dynamodb", endpoint_url=database.endpoint, region_name=REGION
        )
        table = "bench-history"
        create_table(database.endpoint, table, REGION, TABLE_SCHEMA)
        for size in (config.small_room, config.large_room):
            room = f"r-{size}"
            say(f"history cost: writing {size} messages")
            populate_s = _populate(client, table, room, size)
            middle = make_message(room, size // 2)["id"]["S"]
            pages = {
                name: _page_cost(
                    client, table, room, direction=direction, cursor=cursor, page=config.page
                )
                for name, direction, cursor in (
                    ("latest", Direction.LATEST, None),
                    ("before", Direction.BEFORE, middle),
                    ("after", Direction.AFTER, middle),
                )
            }
            whole = _room_cost(client, table, room)
            for name, cost in pages.items():
                cost["read_units"] = strong_read_units(cost["items_read"] * item_bytes)
                if cost["items_returned"] != config.page or not cost["more"]:
                    raise RuntimeError(f"the {name} page of room {room} came back short: {cost}")
            whole_units = sum(
                strong_read_units(call["scanned"] * item_bytes) for call in whole.pop("calls")
            )
            rows.append(
                {
                    "room_messages": size,
                    "page": config.page,
                    "populate_s": populate_s,
                    "pages": pages,
                    "whole_room": {**whole, "read_units": whole_units},
                }
            )
            say(
                f"history cost: room of {size}: a page of {config.page} read "
                + ", ".join(f"{k} {v['items_read']}" for k, v in pages.items())
                + f" items; the whole room {whole['items_read']}"
            )
    return {"item_bytes": item_bytes, "rows": rows}


def targets(results: dict[str, Any]) -> list[Target]:
    """A page reads the page (plus one look-ahead item), whatever the room holds."""
    small, large = results["rows"][0], results["rows"][-1]
    page = large["page"]
    read = [cost["items_read"] for row in (small, large) for cost in row["pages"].values()]
    return [
        Target(
            NAME,
            f"items read for a page of {page}, rooms of {small['room_messages']} and "
            f"{large['room_messages']} messages",
            f"the page ({page} + 1 look-ahead)",
            f"{min(read)} to {max(read)} items (the whole room: "
            f"{large['whole_room']['items_read']})",
            set(read) == {page + 1},
        )
    ]
