"""End to end with sign-in against an OpenID Connect issuer (issue #17, ``auth = "oidc"``):
real WebSocket clients, the emulator running the real authorizer (``backend/authorizer``,
finding the keys by discovery) and the real chat with ``AUTH_MODE=oidc``; the local issuer
(``local_stack.oidc_issuer``) issues the tokens through its authorization code flow.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.oidc_issuer import OidcAuth, OidcIssuer
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.local_stack.support import fresh_room, ws_connect

REFUSED = {401, 403}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat in oidc sign-in mode, as `make dev AUTH=oidc` runs it, without the site."""
    options = StackOptions(
        site_dir=None, auth=OidcAuth(), function=FunctionSettings(environment=LIFTED_RATE_LIMITS)
    )
    with running_stack(options) as running:
        yield running


def _issuer(stack: Stack) -> OidcIssuer:
    assert stack.oidc_issuer is not None
    return stack.oidc_issuer


def _url(stack: Stack, name: str = "mallory") -> str:
    return f"{stack.ws_url}?name={name}&room={fresh_room()}&key={'k' * 43}"


def _status(stack: Stack, token: str) -> int:
    async def attempt() -> int:
        try:
            async with ws_connect(_url(stack), subprotocols=["awsome-chat", token]):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def test_an_issuer_token_connects_and_names_the_sender(stack: Stack) -> None:
    """An ID token from the issuer's code flow connects; messages carry its name with the
    user's tag (an issuer's names are not unique), not ``?name=``."""
    token = _issuer(stack).sign_in("Ada Lovelace")["id_token"]

    async def chat() -> tuple[str | None, dict[str, Any]]:
        async with ws_connect(_url(stack), subprotocols=["awsome-chat", token]) as ws:
            await ws.send(json.dumps({"action": "sendmessage", "text": "hello"}))
            while True:
                frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame.get("type") == "message":
                    return ws.subprotocol, frame

    subprotocol, message = asyncio.run(chat())
    assert subprotocol == "awsome-chat"
    assert re.fullmatch(r"Ada Lovelace #\d{6}", message["from"]), message
    assert message["text"] == "hello"


def test_two_users_with_one_name_are_told_apart_and_neither_is_locked_out(stack: Stack) -> None:
    """Issue 25: another user of the issuer names themselves "Ada Lovelace" too and joins the
    room first. Both get in, each under the name with their own tag."""
    issuer = _issuer(stack)
    impostor = issuer.id_token("Ada Lovelace", sub="someone-else")
    ada = issuer.sign_in("Ada Lovelace")["id_token"]
    room = fresh_room()

    async def chat() -> list[str]:
        url = f"{stack.ws_url}?name=x&room={room}&key={'k' * 43}"
        names = []
        async with (
            ws_connect(url, subprotocols=["awsome-chat", impostor]) as first,
            ws_connect(url, subprotocols=["awsome-chat", ada]) as second,
        ):
            for ws, text in ((first, "hi from the first"), (second, "hi from the second")):
                await ws.send(json.dumps({"action": "sendmessage", "text": text}))
                while True:
                    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if frame.get("type") == "message" and frame["text"] == text:
                        names.append(str(frame["from"]))
                        break
        return names

    impostor_name, ada_name = asyncio.run(chat())
    assert impostor_name != ada_name
    for name in (impostor_name, ada_name):
        assert re.fullmatch(r"Ada Lovelace #\d{6}", name), name


def test_another_audience_and_an_expired_token_are_refused(stack: Stack) -> None:
    """Signed by the issuer's own key but for another client, or expired: refused; the same
    key's fresh token for this client (the control) connects."""
    issuer = _issuer(stack)
    long_ago = int(time.time()) - 7200
    tokens = {
        "another audience": issuer.id_token("Eve", aud="someone-else"),
        "expired": issuer.id_token("Eve", iat=long_ago, exp=long_ago + 3600),
    }
    assert _status(stack, issuer.id_token("Eve")) == 101
    statuses = {what: _status(stack, token) for what, token in tokens.items()}
    assert all(status in REFUSED for status in statuses.values()), statuses
