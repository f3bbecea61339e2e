"""End to end: a room above the delivery threshold gets its messages through the queue (moto's
SQS) and the local poller, which invokes the real function as Lambda's event source mapping
does; a delivery that keeps failing lands in the dead-letter queue and the message stays in
history (issue 30)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from chat.config import EnvVar
from websockets.asyncio.client import ClientConnection

from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import CHAT_ROUTES, Stack, StackOptions, running_stack
from tests.local_stack.support import fresh_room, ws_connect

THRESHOLD = 2  # rooms of three or more go through the queue


def options(**emulator: Any) -> StackOptions:
    environment = {EnvVar.DELIVERY_THRESHOLD.value: str(THRESHOLD)}
    return StackOptions(
        site_dir=None,
        function=FunctionSettings(environment=environment),
        emulator=EmulatorSettings(routes=CHAT_ROUTES, **emulator),
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat with a delivery threshold of two, so small rooms test the worker path."""
    with running_stack(options()) as running:
        yield running


async def message_ids(ws: ClientConnection, wanted: int, settle_s: float) -> list[str]:
    """The ids of the ``message`` frames ``ws`` receives until it has ``wanted`` of them and
    ``settle_s`` more passed (to catch duplicates), or 15 s."""
    ids: list[str] = []
    deadline = time.monotonic() + 15
    quiet_until: float | None = None
    while time.monotonic() < (quiet_until or deadline):
        timeout = (quiet_until or deadline) - time.monotonic()
        try:
            data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        except TimeoutError:
            break
        if data.get("type") == "message":
            ids.append(str(data["id"]))
            if len(ids) >= wanted and quiet_until is None:
                quiet_until = time.monotonic() + settle_s
    return ids


def test_a_big_room_gets_each_message_once_through_the_queue(stack: Stack) -> None:
    """Six members, over the threshold of two: two messages reach every member, each once in
    the page (which drops ids it has: delivery is at least once), through the poller's
    invocations; a room of two stays on the direct path."""
    room, small = fresh_room(), fresh_room()
    poller = stack.delivery
    assert poller is not None

    async def scenario() -> None:
        async with AsyncExitStack() as sockets:
            members = [
                await sockets.enter_async_context(
                    await ws_connect(f"{stack.ws_url}?name=m{n}&room={room}")
                )
                for n in range(6)
            ]
            await asyncio.sleep(0.5)  # the room index is eventually consistent
            before = poller.invocations
            for text in ("one", "two"):
                await members[0].send(json.dumps({"action": "sendmessage", "text": text}))
            got = await asyncio.gather(*(message_ids(ws, 2, 1.0) for ws in members))
            shown = [sorted(set(ids)) for ids in got]  # what the page shows
            assert all(len(ids) == 2 for ids in shown), got
            assert all(ids == shown[0] for ids in shown), got
            assert poller.invocations > before
            pair = [
                await sockets.enter_async_context(
                    await ws_connect(f"{stack.ws_url}?name=p{n}&room={small}")
                )
                for n in range(2)
            ]
            await asyncio.sleep(0.5)
            before = poller.invocations
            await pair[0].send(json.dumps({"action": "sendmessage", "text": "direct"}))
            assert [
                len(ids) for ids in await asyncio.gather(*(message_ids(ws, 1, 0.5) for ws in pair))
            ] == [1, 1]
            assert poller.invocations == before

    asyncio.run(scenario())


def test_a_delivery_that_keeps_failing_is_a_dead_letter_and_stays_in_history() -> None:
    """Every post answered 500: the jobs of the shards with members are tried, named in
    batchItemFailures, and moved to the dead-letter queue; the message is in the table."""
    with running_stack(
        options(faults=FaultInjection(error_rate=1.0, error_statuses=(500,)))
    ) as failing:
        poller = failing.delivery
        assert poller is not None
        room = fresh_room()

        async def scenario() -> None:
            async with AsyncExitStack() as sockets:
                members = [
                    await sockets.enter_async_context(
                        await ws_connect(f"{failing.ws_url}?name=f{n}&room={room}")
                    )
                    for n in range(3)
                ]
                await asyncio.sleep(0.5)
                await members[0].send(json.dumps({"action": "sendmessage", "text": "lost"}))
                deadline = time.monotonic() + 60
                while poller.dead_letters() < 1 and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)

        asyncio.run(scenario())
        assert poller.dead_letters() >= 1
        assert poller.failed_records >= 2  # received twice (maxReceiveCount) before the DLQ
        stored = failing.dynamodb().query(
            TableName=failing.messages_table_name,
            KeyConditionExpression="room = :room",
            ExpressionAttributeValues={":room": {"S": room}},
        )["Items"]
        assert [item["text"]["S"] for item in stored if "text" in item] == ["lost"]
