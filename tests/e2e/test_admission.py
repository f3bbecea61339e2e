"""End to end: one address cannot fill a room, and one name has one holder, with real WebSocket
clients through the emulator from distinct loopback addresses (127.0.0.0/8 is all loopback on
Linux, and the emulator's ``sourceIp`` is the peer's address, as API Gateway's is)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from chat.config import EnvVar
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import Stack, StackOptions, running_stack
from tests.e2e.test_chat import frame
from tests.local_stack.support import fresh_room, ws_connect

ROOM_SEATS = 8  # a quarter: two per address


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat with rooms of eight seats and the default live-connection caps."""
    environment = {EnvVar.ROOM_MAX_MEMBERS.value: str(ROOM_SEATS)}
    options = StackOptions(site_dir=None, function=FunctionSettings(environment=environment))
    with running_stack(options) as running:
        yield running


def key_of(person: str) -> str:
    """The name key ``person`` presents."""
    return hashlib.sha256(person.encode()).hexdigest()[:43]


async def open_from(
    stack: Stack, address: str, name: str, room: str, person: str | None = None
) -> ClientConnection | int:
    """A socket from ``address`` into ``room`` as ``name`` (with ``person``'s key, by default
    the name's), or the status its handshake was refused with."""
    url = f"{stack.ws_url}?name={name}&room={room}&key={key_of(person or name)}"
    try:
        ws: ClientConnection = await ws_connect(url, local_addr=(address, 0))
    except InvalidStatus as refused:
        return refused.response.status_code
    return ws


async def members(ws: ClientConnection) -> list[Any]:
    """The room's member list as ``ws`` is told it."""
    await ws.send(json.dumps({"action": "members"}))
    reply = await frame(ws)
    assert reply["type"] == "members"
    return list(reply["members"])


def test_one_address_cannot_fill_a_room(stack: Stack) -> None:
    """One address gets a quarter of a room of eight (two sockets), then 429; six other
    addresses take the remaining seats; the ninth is refused with 403 until someone leaves."""
    room = fresh_room()

    async def scenario() -> None:
        async with AsyncExitStack() as sockets:
            mine = [await open_from(stack, "127.0.0.1", f"flood{n}", room) for n in range(5)]
            assert [m if isinstance(m, int) else 200 for m in mine] == [200, 200, 429, 429, 429]
            for ws in mine:
                if not isinstance(ws, int):
                    await sockets.enter_async_context(ws)
            others = []
            for n in range(2, 8):
                ws = await open_from(stack, f"127.0.0.{n}", f"guest{n}", room)
                assert not isinstance(ws, int), f"127.0.0.{n} was refused with {ws}"
                others.append(await sockets.enter_async_context(ws))
            assert len(await members(others[0])) == ROOM_SEATS
            assert await open_from(stack, "127.0.0.9", "late", room) == 403
            await others.pop().close()  # its $disconnect gives the seat back

            async def admitted() -> bool:
                ws = await open_from(stack, "127.0.0.9", "late", room)
                if isinstance(ws, int):
                    return False
                await ws.close()
                return True

            for _ in range(50):
                if await admitted():
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("a seat given back by a $disconnect was never free again")

    asyncio.run(scenario())


def test_concurrent_connects_under_one_name_admit_one_person(stack: Stack) -> None:
    """Eight people connect as alice at once from eight addresses: one gets the name, the
    others 409; the one who got it opens a second tab, another person still cannot."""
    room = fresh_room()

    async def scenario() -> None:
        # Eight warm workers first, so that the eight connects below run at once.
        warm = fresh_room()
        warming = await asyncio.gather(
            *(open_from(stack, f"127.0.3.{n}", f"w{n}", warm) for n in range(1, 9))
        )
        for ws in warming:
            assert not isinstance(ws, int)
            await ws.close()
        attempts = await asyncio.gather(
            *(
                open_from(stack, f"127.0.1.{n}", "alice", room, person=f"person{n}")
                for n in range(1, 9)
            )
        )
        admitted = [n for n, ws in enumerate(attempts, start=1) if not isinstance(ws, int)]
        assert len(admitted) == 1
        assert sorted(ws for ws in attempts if isinstance(ws, int)) == [409] * 7
        (owner,) = admitted
        first = attempts[owner - 1]
        assert not isinstance(first, int)
        async with first:
            tab = await open_from(stack, "127.0.2.1", "alice", room, person=f"person{owner}")
            assert not isinstance(tab, int)
            await tab.close()
            other = 1 if owner != 1 else 2
            assert await open_from(stack, "127.0.2.2", "alice", room, f"person{other}") == 409

    asyncio.run(scenario())
