"""End to end with sign-in: a signed-in user's messages are theirs on every device
and nobody else's, whatever names or keys the handshakes carry."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from local_stack.cognito import CognitoAuth, UserPool
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.local_stack.support import fresh_room, ws_connect

PASSWORD = "Passw0rd!long-enough"
_LETTERS = str.maketrans("0123456789", "ghijklmnop")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat in sign-in mode, as `make dev AUTH=cognito` runs it, without the site."""
    options = StackOptions(
        site_dir=None, auth=CognitoAuth(), function=FunctionSettings(environment=LIFTED_RATE_LIMITS)
    )
    with running_stack(options) as running:
        yield running


def user(stack: Stack, prefix: str) -> str:
    """A new confirmed user's ID token."""
    pool: UserPool | None = stack.user_pool
    assert pool is not None
    username = prefix + fresh_room("").replace("-", "").translate(_LETTERS)
    pool.create_user(username, PASSWORD)
    token: str = pool.sign_in(username, PASSWORD)["IdToken"]
    return token


def device(stack: Stack, token: str, room_name: str, key_seed: str) -> Any:
    """A signed-in socket in ``room_name``; each device presents its own (ignored) key."""
    key = hashlib.sha256(key_seed.encode()).hexdigest()[:43]
    url = f"{stack.ws_url}?name=whoever&room={room_name}&key={key}"
    return ws_connect(url, subprotocols=["awsome-chat", token])


async def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of type ``kind``."""
    while True:
        got: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if got["type"] == kind:
            return got


def test_a_signed_in_users_other_device_may_edit_and_another_user_may_not(stack: Stack) -> None:
    """ada sends from her laptop; her phone (another sign-in, another key) edits it; bob,
    another user, is refused not_yours for the edit and the delete."""
    ada, bob_token = user(stack, "ada"), user(stack, "bob")
    lobby = fresh_room()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with (
            device(stack, ada, lobby, "laptop") as laptop,
            device(stack, ada, lobby, "phone") as phone,
            device(stack, bob_token, lobby, "bob") as bob,
        ):
            await laptop.send(json.dumps({"action": "sendmessage", "text": "hi"}))
            mid = (await next_of(laptop, "message"))["id"]
            await next_of(bob, "message")
            await bob.send(json.dumps({"action": "editmessage", "id": mid, "text": "mine"}))
            refused_edit = await next_of(bob, "error")
            await bob.send(json.dumps({"action": "deletemessage", "id": mid}))
            refused_delete = await next_of(bob, "error")
            await phone.send(json.dumps({"action": "editmessage", "id": mid, "text": "hi!"}))
            edited = await next_of(bob, "message")
            return refused_edit, refused_delete, edited

    refused_edit, refused_delete, edited = asyncio.run(scenario())
    assert (refused_edit["code"], refused_delete["code"]) == ("not_yours", "not_yours")
    assert refused_edit["id"] == edited["id"]
    assert (edited["text"], edited["rev"]) == ("hi!", 2)
