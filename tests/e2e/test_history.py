"""End to end: durable history and exact catch-up with real WebSocket clients on the local stack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chat.frames import HISTORY_FRAME_BUDGET
from websockets.asyncio.client import ClientConnection

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.e2e.test_chat import frame, join, room, say, silent


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat as `make dev` runs it, on a free port, without the site."""
    # These tests send a hundred messages in a row: lift the per-connection rate limit.
    options = StackOptions(site_dir=None, function=FunctionSettings(environment=LIFTED_RATE_LIMITS))
    with running_stack(options) as running:
        yield running


async def reply(ws: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame that is not a presence notice (others joining and leaving the room)."""
    while (got := await frame(ws, timeout_s))["type"] == "presence":
        pass
    return got


async def history(ws: ClientConnection, **fields: Any) -> dict[str, Any]:
    """Ask for a history page and return it (skipping nothing: the caller expects quiet)."""
    await ws.send(json.dumps({"action": "history", **fields}))
    page = await reply(ws)
    assert page["type"] == "history", page
    return page


async def catch_up(ws: ClientConnection, after: str) -> list[dict[str, Any]]:
    """Every message after ``after``, page by page, as the page does on reconnect."""
    found: list[dict[str, Any]] = []
    cursor = after
    while True:
        page = await history(ws, after=cursor, limit=4)
        found += page["messages"]
        if not page["more"]:
            return found
        cursor = page["messages"][-1]["id"]


def stored_count(stack: Stack, room_name: str) -> int:
    """How many messages the room's partition holds (the test may read the table directly)."""
    answer = stack.dynamodb().query(
        TableName=stack.messages_table_name,
        KeyConditionExpression="room = :r",
        ExpressionAttributeValues={":r": {"S": room_name}},
        Select="COUNT",
    )
    return int(answer["Count"])


def drop_without_close(ws: ClientConnection) -> None:
    """Vanish as a phone losing its network does: no close frame, the TCP connection just ends."""
    ws.transport.abort()


@pytest.mark.parametrize("how", ["dropped", "deleted"])
def test_a_reconnecting_client_catches_up_exactly(stack: Stack, how: str) -> None:
    """B loses its socket (dropped without a close frame, or deleted through @connections) while
    A sends 10 messages; B reconnects and catches up: all 10, each once, in order."""
    lobby = room()

    async def scenario() -> tuple[list[str], list[str]]:
        async with join(stack, "alice", lobby) as alice, join(stack, "bob", lobby) as bob:
            await say(alice, "before")
            last_seen = (await reply(bob))["id"]
            await reply(alice)
            if how == "dropped":
                drop_without_close(bob)
            else:
                assert stack.close_connection(_connection_id(stack, lobby, "bob"))
            sent = []
            for n in range(10):
                await say(alice, f"while away {n}")
                sent.append((await reply(alice))["id"])
            async with join(stack, "bob", lobby) as bob_again:
                caught = await catch_up(bob_again, last_seen)
                assert await silent(bob_again)
            return sent, [m["id"] for m in caught]

    sent, caught = asyncio.run(scenario())
    assert caught == sent


def _connection_id(stack: Stack, room_name: str, name: str) -> str:
    answer = stack.dynamodb().scan(
        TableName=stack.table_name,
        FilterExpression="room = :r AND #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":r": {"S": room_name}, ":n": {"S": name}},
    )
    [item] = answer["Items"]
    return str(item["connectionId"]["S"])


def test_a_late_joiner_sees_the_last_50_of_120(stack: Stack) -> None:
    """The newest page of a room that has 120 messages holds the last 50, oldest first."""
    lobby = room()

    async def scenario() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice:
            sent = []
            for n in range(120):
                await say(alice, f"m{n}")
                sent.append((await reply(alice))["id"])
        async with join(stack, "late", lobby) as late:
            newest = await history(late)
            older = await history(late, before=newest["messages"][0]["id"])
        return sent, newest, older

    sent, newest, older = asyncio.run(scenario())
    assert [m["id"] for m in newest["messages"]] == sent[70:]
    assert [m["text"] for m in newest["messages"]] == [f"m{n}" for n in range(70, 120)]
    assert newest["more"] is True
    assert [m["id"] for m in older["messages"]] == sent[20:70]


def test_a_resend_after_a_lost_acknowledgement_is_stored_and_shown_once(stack: Stack) -> None:
    """A's socket drops right after sending; A reconnects and resends with the same clientId:
    one item is stored, A learns its id, and B receives the message once."""
    lobby = room()

    async def collect() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with join(stack, "bob", lobby) as bob:
            async with join(stack, "alice", lobby) as alice:
                await say(alice, "did this get through?", clientId="retry-1")
                drop_without_close(alice)
            async with join(stack, "alice", lobby) as alice_again:
                await say(alice_again, "did this get through?", clientId="retry-1")
                # The first attempt's broadcast may reach the new connection too, before or
                # after the acknowledgement: the same id, which a client shows once.
                seen = [await reply(alice_again)]
                try:
                    while True:
                        seen.append(await reply(alice_again, 1.0))
                except TimeoutError:
                    pass
                [ack] = [f for f in seen if "clientId" in f]
                assert {f.get("id") for f in seen} == {ack["id"]}
            received = []
            try:
                while True:
                    received.append(await reply(bob, 3.0))
            except TimeoutError:
                pass
            return ack, received

    ack, received = asyncio.run(collect())
    assert ack["type"] == "message"
    assert (ack["clientId"], ack["text"]) == ("retry-1", "did this get through?")
    assert [f["id"] for f in received if f["type"] == "message"] == [ack["id"]]
    assert all("clientId" not in f for f in received)
    assert stored_count(stack, lobby) == 1


def test_the_largest_history_frame_is_delivered(stack: Stack) -> None:
    """100 messages at their largest (2,000 four-byte characters): the page the backend builds
    is cut under its byte budget and the emulator's @connections accepts and delivers it."""
    lobby = room()
    text = "\U0001f600" * 2000

    async def scenario() -> tuple[int, dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice:
            for _ in range(100):
                await say(alice, text)
                await reply(alice)
            await alice.send(json.dumps({"action": "history", "limit": 100}))
            raw = await asyncio.wait_for(alice.recv(), 10)
            assert await silent(alice)
        return len(raw.encode() if isinstance(raw, str) else raw), json.loads(raw)

    size, page = asyncio.run(scenario())
    assert page["type"] == "history"
    assert size <= HISTORY_FRAME_BUDGET
    assert 0 < len(page["messages"]) < 100
    assert page["more"] is True
    assert stack.counters().get("post_413", 0) == 0
