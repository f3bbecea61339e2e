"""End to end: presence with real WebSocket clients on the local stack (no pings: detection
comes from what API Gateway itself would see, a close, a reset or a failed post)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import CHAT_ROUTES, Stack, StackOptions, running_stack
from tests.e2e.test_chat import frame, join, room, say, silent
from tests.e2e.test_history import drop_without_close
from tests.local_stack.support import age_connection, room_connections

NOTICE_WITHIN_S = 1.0  # the bound for the local stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat as `make dev` runs it: no protocol pings, as API Gateway sends none."""
    with running_stack(StackOptions(site_dir=None)) as running:
        yield running


async def joined(ws: ClientConnection) -> dict[str, Any]:
    """Send join; return the members frame (the history page that follows is read too)."""
    await ws.send(json.dumps({"action": "join"}))
    members = await frame(ws)
    assert members["type"] == "members", members
    assert (await frame(ws))["type"] == "history"
    return members


def names(members: dict[str, Any]) -> list[tuple[str, int]]:
    """(name, connections) of a members frame."""
    return [(m["name"], m["connections"]) for m in members["members"]]


async def notice(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, which must be a presence notice arriving within the bound."""
    got = await frame(ws, NOTICE_WITHIN_S)
    assert got["type"] == "presence", got
    return got


@pytest.mark.parametrize("how", ["close", "reset", "delete"])
def test_joins_and_leaves_are_seen_by_the_room(stack: Stack, how: str) -> None:
    """The list is right after joins; a clean close, a reset socket and a @connections DELETE
    are each announced as left within a second, and the list follows."""
    lobby = room()

    async def scenario() -> None:
        async with join(stack, "alice", lobby) as alice:
            assert names(await joined(alice)) == [("alice", 1)]
            carol = await join(stack, "carol", lobby)
            members = await joined(carol)
            assert sorted(names(members)) == [("alice", 1), ("carol", 1)]
            assert await notice(alice) == {
                "type": "presence",
                "event": "joined",
                "room": lobby,
                "name": "carol",
                "count": 2,
            }
            if how == "close":
                await carol.close()
            elif how == "reset":
                drop_without_close(carol)
            else:
                assert stack.close_connection(dict(room_connections(stack, lobby))["carol"])
            left = await notice(alice)
            assert (left["event"], left["name"], left["count"]) == ("left", "carol", 1)
            await alice.send(json.dumps({"action": "members"}))
            assert names(await frame(alice)) == [("alice", 1)]

    asyncio.run(scenario())


def test_a_quick_reconnect_makes_no_left_joined_pair(stack: Stack) -> None:
    """A page that opens its new connection before its old one is gone (a blip API Gateway has
    not noticed, or the page replacing its socket) is neither left nor joined."""
    lobby = room()

    async def scenario() -> None:
        async with join(stack, "bob", lobby) as bob:
            await joined(bob)
            old = await join(stack, "alice", lobby)
            await joined(old)
            assert (await notice(bob))["event"] == "joined"
            async with join(stack, "alice", lobby) as new:
                assert sorted(names(await joined(new))) == [("alice", 2), ("bob", 1)]
                await old.close()
                assert await silent(bob, 1.5)
                await say(new, "back")
                assert (await frame(bob))["text"] == "back"

    asyncio.run(scenario())


def test_a_stale_member_is_pruned_and_announced_after_the_next_broadcast() -> None:
    """Its $disconnect lost (the stack drops every one), a closed member stays listed until a
    broadcast's post to it fails with 410: then it is pruned and the room is told it left."""
    options = StackOptions(
        site_dir=None, emulator=EmulatorSettings(routes=CHAT_ROUTES, disconnect_loss_rate=1.0)
    )
    with running_stack(options) as lossy:
        lobby = room()

        async def scenario() -> None:
            async with join(lossy, "alice", lobby) as alice:
                await joined(alice)
                async with join(lossy, "ghost", lobby) as ghost:
                    await joined(ghost)
                    assert (await notice(alice))["name"] == "ghost"
                    age_connection(lossy, dict(room_connections(lossy, lobby))["ghost"])
                await asyncio.sleep(0.3)
                await alice.send(json.dumps({"action": "members"}))
                assert sorted(names(await frame(alice))) == [("alice", 1), ("ghost", 1)]
                await say(alice, "anyone there?")
                assert (await frame(alice))["type"] == "message"
                left = await notice(alice)
                assert (left["event"], left["name"], left["count"]) == ("left", "ghost", 1)
                await alice.send(json.dumps({"action": "members"}))
                assert names(await frame(alice)) == [("alice", 1)]

        asyncio.run(scenario())
        assert [name for name, _ in room_connections(lossy, lobby)] == ["alice"]
