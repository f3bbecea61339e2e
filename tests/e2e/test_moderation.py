"""End to end: moderators with real WebSocket clients on the local stack, the real
handler and authorizer, moto DynamoDB and moto's Cognito groups: sign-in off (the moderator
secret) and on (the ``moderators`` group)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any, Final

import pytest
from chat.config import EnvVar
from chat.connections import CONNECTION_ID_ATTRIBUTE, TTL_ATTRIBUTE
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from local_stack.cognito import CognitoAuth, UserPool
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.local_stack.support import fresh_room, plain_username, ws_connect

SECRET: Final = "a long moderator secret for the local stack"
PASSWORD: Final = "Passw0rd!long-enough"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The open chat with a moderator secret and a word filter, without the site."""
    environment = {
        **LIFTED_RATE_LIMITS,
        EnvVar.MODERATOR_SECRET_SHA256.value: hashlib.sha256(SECRET.encode()).hexdigest(),
        EnvVar.BLOCKED_WORDS.value: json.dumps(["darn"]),
    }
    options = StackOptions(site_dir=None, function=FunctionSettings(environment=environment))
    with running_stack(options) as running:
        yield running


async def open_as(
    stack: Stack, name: str, room: str, address: str = "127.0.0.1", token: str | None = None
) -> ClientConnection | int:
    """A joined socket in ``room`` as ``name`` from ``address`` (signed in with ``token``), or
    the status its handshake was refused with."""
    key = hashlib.sha256(name.encode()).hexdigest()[:43]
    url = f"{stack.ws_url}?name={name}&room={room}&key={key}"
    extra: dict[str, Any] = {"local_addr": (address, 0)}
    if token is not None:
        extra["subprotocols"] = ["awsome-chat", token]
    try:
        ws: ClientConnection = await ws_connect(url, **extra)
    except InvalidStatus as refused:
        return refused.response.status_code
    await ws.send(json.dumps({"action": "join"}))
    await next_of(ws, "history")
    return ws


def opened(ws: ClientConnection | int) -> ClientConnection:
    """``ws``, which must have opened."""
    assert not isinstance(ws, int), f"refused with {ws}"
    return ws


async def next_of(ws: ClientConnection, kind: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame of type ``kind`` (others skipped)."""
    while True:
        got: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
        if got["type"] == kind:
            return got


async def send(ws: ClientConnection, action: str, **fields: Any) -> None:
    """Send one frame."""
    await ws.send(json.dumps({"action": action, **fields}))


async def closed(ws: ClientConnection, timeout_s: float = 5.0) -> bool:
    """Whether the server closes ``ws`` within ``timeout_s`` (frames before it are read)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


async def moderator(stack: Stack, room: str) -> ClientConnection:
    """A connection that presented the secret and was told it moderates."""
    mod = opened(await open_as(stack, "mod", room, "127.0.0.9"))
    await send(mod, "moderate", secret=SECRET)
    assert await next_of(mod, "role") == {"type": "role", "moderator": True}
    return mod


def test_a_mute_refuses_bobs_sends_with_until_and_he_still_reads(stack: Stack) -> None:
    """The room gets ``muted`` with ``until``; bob's send is refused ``muted`` with the same
    ``until``; carol's message still reaches bob; a lift lets him speak again."""
    room = fresh_room()

    async def scenario() -> None:
        mod = await moderator(stack, room)
        bob = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        carol = opened(await open_as(stack, "carol", room, "127.0.0.3"))
        await send(mod, "mute", name="bob", seconds=600)
        notice = await next_of(carol, "moderation")
        assert (notice["event"], notice["name"]) == ("muted", "bob")
        assert (await next_of(bob, "moderation")) == notice
        await send(bob, "sendmessage", text="let me speak", clientId="m1")
        error = await next_of(bob, "error")
        assert (error["code"], error["until"], error["clientId"]) == (
            "muted",
            notice["until"],
            "m1",
        )
        await send(carol, "sendmessage", text="bob can read this")
        assert (await next_of(bob, "message"))["text"] == "bob can read this"
        await send(mod, "mute", name="bob", seconds=0)
        assert (await next_of(carol, "moderation"))["event"] == "unmuted"
        await send(bob, "sendmessage", text="thanks")
        assert (await next_of(carol, "message"))["text"] == "thanks"
        for ws in (mod, bob, carol):
            await ws.close()

    asyncio.run(scenario())


def test_a_kick_closes_bobs_connections_and_he_may_come_back(stack: Stack) -> None:
    """Both of bob's sockets are closed by the server after the ``kicked`` notice; bob
    reconnects at once."""
    room = fresh_room()

    async def scenario() -> None:
        mod = await moderator(stack, room)
        phone = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        laptop = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        carol = opened(await open_as(stack, "carol", room, "127.0.0.3"))
        await send(mod, "kick", name="bob")
        assert (await next_of(carol, "moderation"))["event"] == "kicked"
        assert (await next_of(phone, "moderation"))["event"] == "kicked"
        assert await closed(phone)
        assert await closed(laptop)
        back = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        for ws in (mod, carol, back):
            await ws.close()

    asyncio.run(scenario())


def test_a_ban_closes_and_refuses_reconnects_by_name_and_address(stack: Stack) -> None:
    """bob is closed; bob again (from anywhere) and robert from bob's address are refused 403;
    dave elsewhere is not; a lift lets bob back."""
    room = fresh_room()

    async def scenario() -> None:
        mod = await moderator(stack, room)
        bob = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        carol = opened(await open_as(stack, "carol", room, "127.0.0.3"))
        await send(mod, "ban", name="bob", seconds=3600)
        notice = await next_of(carol, "moderation")
        assert (notice["event"], notice["name"]) == ("banned", "bob")
        assert notice["until"].endswith("Z")
        assert await closed(bob)
        assert await open_as(stack, "bob", room, "127.0.0.4") == 403
        assert await open_as(stack, "robert", room, "127.0.0.2") == 403
        dave = opened(await open_as(stack, "dave", room, "127.0.0.5"))
        await send(mod, "ban", name="bob", seconds=0)
        assert (await next_of(carol, "moderation"))["event"] == "unbanned"
        back = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        for ws in (mod, carol, dave, back):
            await ws.close()

    asyncio.run(scenario())


def test_a_ban_ends_by_itself(stack: Stack) -> None:
    """A one-minute ban refuses bob; once its time has passed (its items' expiry moved into the
    past, as the clock would: moto never expires items) he gets in, since the admission check
    treats an expired ban as none. The expiry by the clock itself is test_moderation's."""
    room = fresh_room()

    async def scenario() -> None:
        mod = await moderator(stack, room)
        bob = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        await send(mod, "ban", name="bob", seconds=60)
        await next_of(mod, "moderation")
        assert await closed(bob)
        assert await open_as(stack, "bob", room, "127.0.0.6") == 403
        assert _expire_bans(stack, room) >= 1
        back = opened(await open_as(stack, "bob", room, "127.0.0.6"))
        for ws in (mod, back):
            await ws.close()

    asyncio.run(scenario())


def _expire_bans(stack: Stack, room: str) -> int:
    """Move the expiry of ``room``'s ban items one second into the past; how many there were."""
    client = stack.dynamodb()
    found = client.scan(
        TableName=stack.table_name,
        FilterExpression="begins_with(#id, :ban)",
        ExpressionAttributeNames={"#id": CONNECTION_ID_ATTRIBUTE},
        ExpressionAttributeValues={":ban": {"S": f"ban#{room}#"}},
    )["Items"]
    for item in found:
        client.update_item(
            TableName=stack.table_name,
            Key={CONNECTION_ID_ATTRIBUTE: item[CONNECTION_ID_ATTRIBUTE]},
            UpdateExpression="SET #expires = :past",
            ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )
    return len(found)


def test_a_non_moderator_is_refused_and_the_filter_refuses_a_blocked_word(stack: Stack) -> None:
    """carol's mute and wrong secret are ``not_allowed``; a message with a blocked word is
    ``message_blocked`` and reaches nobody."""
    room = fresh_room()

    async def scenario() -> None:
        bob = opened(await open_as(stack, "bob", room, "127.0.0.2"))
        carol = opened(await open_as(stack, "carol", room, "127.0.0.3"))
        await send(carol, "mute", name="bob", seconds=600)
        assert (await next_of(carol, "error"))["code"] == "not_allowed"
        await send(carol, "moderate", secret="not it")
        assert (await next_of(carol, "error"))["code"] == "not_allowed"
        await send(carol, "sendmessage", text="oh D.A.R.N", clientId="w1")
        blocked = await next_of(carol, "error")
        assert (blocked["code"], blocked["clientId"]) == ("message_blocked", "w1")
        await send(carol, "sendmessage", text="clean")
        assert (await next_of(bob, "message"))["text"] == "clean"
        for ws in (bob, carol):
            await ws.close()

    asyncio.run(scenario())


# --- sign-in on: moto's Cognito groups --------------------------------------------------------


@pytest.fixture(scope="module")
def signed_stack() -> Iterator[Stack]:
    """The chat with sign-in (a moto user pool with the ``moderators`` group)."""
    options = StackOptions(
        site_dir=None,
        auth=CognitoAuth(),
        function=FunctionSettings(environment=LIFTED_RATE_LIMITS),
    )
    with running_stack(options) as running:
        yield running


def token_of(stack: Stack, prefix: str, *, moderator: bool = False) -> tuple[str, str]:
    """A new user (added to the moderators' group when ``moderator``): name and ID token."""
    pool: UserPool | None = stack.user_pool
    assert pool is not None
    username = plain_username(prefix)
    pool.create_user(username, PASSWORD)
    if moderator:
        pool.make_moderator(username)
    token: str = pool.sign_in(username, PASSWORD)["IdToken"]
    return username, token


def test_signed_in_the_group_makes_a_moderator_who_bans_a_user(signed_stack: Stack) -> None:
    """ada (in the group) gets ``role`` on join and bans bob, whose reconnect is refused 403;
    bob (not in it) is refused ``not_allowed``, and ``moderate`` is refused with sign-in on."""
    room = fresh_room()
    ada_name, ada = token_of(signed_stack, "ada", moderator=True)
    bob_name, bob_token = token_of(signed_stack, "bob")

    async def scenario() -> None:
        url = f"{signed_stack.ws_url}?room={room}"
        mod = await ws_connect(url, subprotocols=["awsome-chat", ada])
        await send(mod, "join")
        assert await next_of(mod, "role") == {"type": "role", "moderator": True}
        bob = opened(await open_as(signed_stack, "x", room, "127.0.0.2", token=bob_token))
        await send(bob, "kick", name=ada_name)
        assert (await next_of(bob, "error"))["code"] == "not_allowed"
        await send(bob, "moderate", secret=SECRET)
        assert (await next_of(bob, "error"))["code"] == "not_allowed"
        await send(mod, "ban", name=bob_name, seconds=600)
        assert (await next_of(mod, "moderation"))["event"] == "banned"
        assert await closed(bob)
        again = await open_as(signed_stack, "x", room, "127.0.0.7", token=bob_token)
        assert again == 403
        await mod.close()

    asyncio.run(scenario())
