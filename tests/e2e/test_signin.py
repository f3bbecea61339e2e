"""End to end with sign-in (issue #17): real WebSocket clients, the emulator running the real
authorizer (``backend/authorizer``) on ``$connect`` and the real chat with ``AUTH_MODE=cognito``,
moto's Cognito issuing the tokens. Needs ``backend/authorizer`` and the chat's ``AUTH_MODE``.

The proof the issue asks for: no token, a malformed token, a wrong signature, another audience,
an expired token and an access token are each refused; a valid ID token connects, and messages
carry the account's name whatever ``?name=`` says.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource
from websockets.exceptions import InvalidStatus

from local_stack.cognito import CognitoAuth, UserPool
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.local_stack.support import fresh_room, ws_connect

PASSWORD = "Passw0rd!long-enough"
REFUSED = {401, 403}  # the authorizer may raise Unauthorized (401) or deny (403)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat in sign-in mode, as `make dev AUTH=cognito` runs it, without the site."""
    options = StackOptions(
        site_dir=None,
        auth=CognitoAuth(),
        function=FunctionSettings(environment=LIFTED_RATE_LIMITS),
    )
    with running_stack(options) as running:
        yield running


@pytest.fixture(scope="module")
def ada(stack: Stack) -> dict[str, Any]:
    """A confirmed user with a display name (which the chat does not show: Cognito users are
    named by their user name, here letters only, shown bare), and the tokens of one sign-in."""
    pool = _pool(stack)
    username = "ada" + fresh_room("").replace("-", "").translate(_LETTERS)
    pool.create_user(username, PASSWORD, name="Ada Lovelace")
    return pool.sign_in(username, PASSWORD)


_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def _pool(stack: Stack) -> UserPool:
    assert stack.user_pool is not None
    return stack.user_pool


def _url(stack: Stack, name: str = "mallory") -> str:
    key = hashlib.sha256(name.encode()).hexdigest()[:43]
    return f"{stack.ws_url}?name={name}&room={fresh_room()}&key={key}"


def _status(stack: Stack, protocols: list[str] | None) -> int:
    async def attempt() -> int:
        try:
            async with ws_connect(_url(stack), subprotocols=protocols):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def _resigned(token: str, key: Any, **changes: Any) -> str:
    """``token``'s claims with ``changes``, signed with ``key`` under moto's key id."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def test_no_token_is_refused_401_before_the_authorizer(stack: Stack) -> None:
    """A handshake without ``Sec-WebSocket-Protocol`` never reaches the authorizer."""
    assert stack.authorizer is not None
    before = stack.authorizer.invocations
    assert _status(stack, None) == 401
    assert stack.authorizer.invocations == before


def test_bad_tokens_are_refused(stack: Stack, ada: dict[str, Any]) -> None:
    """Malformed, wrongly signed, another audience's, expired, and access tokens are refused."""
    pool = _pool(stack)
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    moto_key = jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )
    other_client = pool.client().create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="other",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    username = jwt.decode(ada["IdToken"], options={"verify_signature": False})["cognito:username"]
    other_audience = pool.client().initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    long_ago = int(time.time()) - 7200
    tokens = {
        "malformed": "not-a-jwt",
        "wrong signature": _resigned(ada["IdToken"], stranger_key),
        "another audience": other_audience,
        "expired": _resigned(ada["IdToken"], moto_key, iat=long_ago, exp=long_ago + 3600),
        "access token": ada["AccessToken"],
    }
    # A control: the re-signing itself yields a token the authorizer accepts.
    assert _status(stack, ["awsome-chat", _resigned(ada["IdToken"], moto_key)]) == 101
    statuses = {what: _status(stack, ["awsome-chat", token]) for what, token in tokens.items()}
    assert {what: status in REFUSED for what, status in statuses.items()} == dict.fromkeys(
        tokens, True
    ), statuses


def test_a_valid_id_token_connects_and_names_the_sender(stack: Stack, ada: dict[str, Any]) -> None:
    """The handshake selects ``awsome-chat``; messages carry the account's user name, not
    ``?name=`` nor the ``name`` attribute."""

    async def chat() -> tuple[str | None, dict[str, Any]]:
        protocols = ["awsome-chat", ada["IdToken"]]
        async with ws_connect(_url(stack, "mallory"), subprotocols=protocols) as ws:
            await ws.send(json.dumps({"action": "sendmessage", "text": "hello"}))
            while True:
                frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame.get("type") == "message":
                    return ws.subprotocol, frame

    subprotocol, message = asyncio.run(chat())
    assert subprotocol == "awsome-chat"
    claims = jwt.decode(ada["IdToken"], options={"verify_signature": False})
    assert message["from"] == claims["cognito:username"]
    assert message["text"] == "hello"
