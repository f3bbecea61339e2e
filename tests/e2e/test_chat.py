"""End to end: real WebSocket clients, the emulator, the real handler (backend/), moto DynamoDB."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import CHAT_ROUTES, Stack, StackOptions, running_stack
from tests.local_stack.support import (
    age_connection,
    fresh_room,
    room_connections,
    wait_until,
    ws_connect,
)

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
SENT_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat as `make dev` runs it, on a free port, without the site."""
    with running_stack(StackOptions(site_dir=None)) as running:
        yield running


def room() -> str:
    """A fresh room per test, so tests sharing a stack never hear each other."""
    return fresh_room()


def join(stack: Stack, name: str, room_name: str) -> Any:
    """Open a client socket in ``room_name`` as ``name``, presenting the name key of the one
    person each name stands for in these tests (so reconnects keep the name)."""
    key = hashlib.sha256(name.encode()).hexdigest()[:43]
    return ws_connect(f"{stack.ws_url}?name={name}&room={room_name}&key={key}")


async def frame(ws: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame, decoded."""
    decoded: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    return decoded


async def silent(ws: ClientConnection, seconds: float = 0.5) -> bool:
    """Whether nothing arrives on ``ws`` for ``seconds``."""
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


async def say(ws: ClientConnection, text: str, **extra: Any) -> None:
    await ws.send(json.dumps({"action": "sendmessage", "text": text, **extra}))


def items_in(stack: Stack, room_name: str) -> dict[str, str]:
    """The stored connections of a room, as {name: connectionId}."""
    return dict(room_connections(stack, room_name))


def test_two_clients_in_a_room_exchange_messages(stack: Stack) -> None:
    """A message reaches every connection of the room, the sender included, in protocol shape."""
    lobby = room()

    async def chat() -> list[dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice, join(stack, "bob", lobby) as bob:
            await say(alice, "  hello bob  ")
            seen = [await frame(alice), await frame(bob)]
            await say(bob, "hi alice 👋")
            seen += [await frame(alice), await frame(bob)]
            return seen

    a1, b1, a2, b2 = asyncio.run(chat())
    assert a1 == b1
    assert a2 == b2
    assert {k: a1[k] for k in ("type", "room", "from", "text")} == {
        "type": "message",
        "room": lobby,
        "from": "alice",
        "text": "hello bob",
    }
    assert (a2["from"], a2["text"]) == ("bob", "hi alice 👋")
    assert ULID.fullmatch(a1["id"])
    assert a1["id"] < a2["id"]  # ULIDs sort in time order
    assert SENT_AT.fullmatch(a1["sentAt"])


def test_a_client_in_another_room_receives_nothing(stack: Stack) -> None:
    """Messages stay in their room: a client elsewhere gets only its own pong."""
    here, elsewhere = room(), room()

    async def chat() -> tuple[dict[str, Any], dict[str, Any], bool]:
        async with (
            join(stack, "alice", here) as alice,
            join(stack, "carol", elsewhere) as carol,
        ):
            await say(alice, "only for this room")
            mine = await frame(alice)
            await carol.send(json.dumps({"action": "ping"}))
            first_for_carol = await frame(carol)
            return mine, first_for_carol, await silent(carol)

    mine, first_for_carol, then_silent = asyncio.run(chat())
    assert mine["text"] == "only for this room"
    assert first_for_carol == {"type": "pong"}
    assert then_silent


def test_sender_and_room_come_from_the_connection_not_the_frame(stack: Stack) -> None:
    """`from` and `room` in a client frame are ignored."""
    lobby = room()

    async def chat() -> dict[str, Any]:
        async with join(stack, "alice", lobby) as alice:
            await say(alice, "it's me", **{"from": "mallory", "room": "elsewhere"})
            return await frame(alice)

    message = asyncio.run(chat())
    assert (message["from"], message["room"]) == ("alice", lobby)


def test_ping_gets_a_pong_for_the_sender_only(stack: Stack) -> None:
    """`ping` answers `pong` to the sender; the rest of the room hears nothing."""
    lobby = room()

    async def chat() -> tuple[dict[str, Any], bool]:
        async with join(stack, "alice", lobby) as alice, join(stack, "bob", lobby) as bob:
            await alice.send(json.dumps({"action": "ping"}))
            return await frame(alice), await silent(bob)

    pong, bob_silent = asyncio.run(chat())
    assert pong == {"type": "pong"}
    assert bob_silent


def test_bad_frames_get_an_error_for_the_sender_only(stack: Stack) -> None:
    """Each bad frame gets its error code back; the others keep chatting undisturbed."""
    lobby = room()
    bad_frames = [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"action": "dance"}', "unknown_action"),
        ('{"text": "no action"}', "unknown_action"),
        ('{"action": "sendmessage"}', "invalid_field"),
        ('{"action": "sendmessage", "text": 5}', "invalid_field"),
        ('{"action": "sendmessage", "text": "   "}', "empty_message"),
        (json.dumps({"action": "sendmessage", "text": "x" * 2001}), "message_too_long"),
    ]

    async def chat() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice, join(stack, "bob", lobby) as bob:
            errors = []
            for bad, _ in bad_frames:
                await alice.send(bad)
                errors.append(await frame(alice))
            await say(bob, "still here")
            return errors, await frame(bob), await frame(alice)

    errors, bobs_first, alices_next = asyncio.run(chat())
    assert [e["code"] for e in errors] == [code for _, code in bad_frames]
    for error in errors:
        assert error["type"] == "error"
        assert isinstance(error["message"], str)
        assert "Traceback" not in error["message"]
    assert (bobs_first["type"], bobs_first["text"]) == ("message", "still here")
    assert alices_next == bobs_first


def test_invalid_handshake_parameters_are_refused_with_400(stack: Stack) -> None:
    """An invalid room or an empty name refuses the handshake with HTTP 400."""

    async def status(query: str) -> int:
        try:
            async with connect(f"{stack.ws_url}?{query}", proxy=None):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(status("room=no%20spaces")) == 400
    assert asyncio.run(status("name=")) == 400
    assert asyncio.run(status("name=ok&room=fine")) == 101


def test_closing_removes_the_connection_item(stack: Stack) -> None:
    """$disconnect deletes the item of a client that closes normally."""
    lobby = room()

    async def chat() -> dict[str, str]:
        async with join(stack, "alice", lobby) as alice:
            await alice.send(json.dumps({"action": "ping"}))
            await frame(alice)
            return items_in(stack, lobby)

    stored = asyncio.run(chat())
    assert list(stored) == ["alice"]
    wait_until(lambda: not items_in(stack, lobby), 5.0, "the item to be deleted")


def test_a_client_that_died_without_closing_is_pruned_by_the_next_broadcast() -> None:
    """With its $disconnect lost, a dead client's item is deleted when a post gets 410."""
    with running_stack(
        StackOptions(
            emulator=EmulatorSettings(routes=CHAT_ROUTES, disconnect_loss_rate=1.0), site_dir=None
        )
    ) as lossy:
        lobby = room()

        async def chat() -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
            async with join(lossy, "alice", lobby) as alice:
                bob = await join(lossy, "bob", lobby)
                await bob.send(json.dumps({"action": "ping"}))
                await frame(bob)
                bob_id = items_in(lossy, lobby)["bob"]
                age_connection(lossy, bob_id)
                bob.transport.abort()  # gone: no close frame, and its $disconnect is lost
                for _ in range(100):
                    if bob_id not in lossy.open_connection_ids():
                        break
                    await asyncio.sleep(0.05)
                before = items_in(lossy, lobby)
                await say(alice, "anyone there?")
                message = await frame(alice)
                for _ in range(100):
                    if "bob" not in items_in(lossy, lobby):
                        break
                    await asyncio.sleep(0.05)
                return before, items_in(lossy, lobby), message

        before, after, message = asyncio.run(chat())
        counters = lossy.counters()
    assert sorted(before) == ["alice", "bob"]  # the stale item survived the lost $disconnect
    assert message["text"] == "anyone there?"
    assert list(after) == ["alice"]
    assert counters["post_410"] >= 1
    assert counters["disconnect_lost"] >= 1


def test_the_deployment_zip_runs_unchanged(tmp_path: Path, lambda_zip: Path) -> None:
    """The extracted lambda.zip, alone on the function's path, serves the chat."""
    code = tmp_path / "code"
    with zipfile.ZipFile(lambda_zip) as zipped:
        zipped.extractall(code)
    with running_stack(
        StackOptions(function=FunctionSettings(code_dir=code), site_dir=None)
    ) as from_zip:
        lobby = room()

        async def chat() -> dict[str, Any]:
            async with join(from_zip, "alice", lobby) as alice:
                await say(alice, "from the zip")
                return await frame(alice)

        message = asyncio.run(chat())
    assert (message["from"], message["text"]) == ("alice", "from the zip")


def test_a_deeply_nested_frame_gets_exactly_one_answer_and_no_traceback(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A few thousand "[" cannot be parsed far enough to select a route, so API Gateway sends the
    frame to $default and the backend answers it: one frame back, and no traceback anywhere."""
    caplog.set_level(logging.INFO)  # the function's own output too
    lobby = room()

    async def chat() -> tuple[dict[str, Any], bool]:
        async with join(stack, "alice", lobby) as alice:
            await alice.send("[" * 5000)
            answer = await frame(alice)
            return answer, await silent(alice)

    answer, nothing_more = asyncio.run(chat())
    assert answer["type"] == "error"
    assert nothing_more
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
    assert "Traceback" not in caplog.text
