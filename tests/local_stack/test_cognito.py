"""The local stack's sign-in mode (``StackOptions(auth=CognitoAuth())``): the user pool in moto,
the authorizer's and the chat's wiring, the page's variables and Cognito endpoint.
``tests/e2e/test_signin.py`` drives the chat through this mode.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from local_stack.cognito import (
    AUTHORIZER_HANDLER,
    COGNITO_PATH,
    PROTOCOL_IDENTITY_SOURCE,
    CognitoAuth,
)
from local_stack.dev import sign_in_help
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import AuthorizerSettings, EmulatorSettings
from local_stack.stack import Stack, running_stack
from tests.local_stack.support import fresh_room, plain_username, sign_in_options, ws_connect


@pytest.fixture(scope="module")
def signin_stack() -> Iterator[Stack]:
    """A stack in sign-in mode with the real authorizer and chat, serving the page."""
    with running_stack(sign_in_options()) as running:
        yield running


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 -- loopback
        return str(answer.read().decode())


def _cognito(stack: Stack, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Call the stack's Cognito endpoint as the page does (fetch, JSON, X-Amz-Target)."""
    request = urllib.request.Request(  # noqa: S310 -- loopback
        stack.page_url.rstrip("/") + COGNITO_PATH,
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 -- loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sign_in_needs_the_authorizer_code(tmp_path: Path) -> None:
    """Without ``backend/authorizer`` the mode fails with an error that names what is missing."""
    with pytest.raises(EmulatorConfigError, match=r"authorizer\.handler\.handler"):
        CognitoAuth(authorizer=FunctionSettings(handler=AUTHORIZER_HANDLER, code_dir=tmp_path))


def test_sign_in_and_an_emulator_authorizer_do_not_mix() -> None:
    """The stack's sign-in sets the emulator's authorizer itself: giving both is an error."""
    emulator = EmulatorSettings(
        authorizer=AuthorizerSettings(FunctionSettings(), (PROTOCOL_IDENTITY_SOURCE,))
    )
    with pytest.raises(EmulatorConfigError, match="not both"):
        sign_in_options(emulator=emulator)


def test_the_stack_wires_pool_authorizer_chat_and_page(signin_stack: Stack) -> None:
    """A pool and public client exist in moto; the authorizer gets its issuer, audience and
    moto's key set (served), the chat ``AUTH_MODE=cognito``, the page its sign-in variables
    and the endpoint's origin in its CSP."""
    pool = signin_stack.user_pool
    assert pool is not None
    client = pool.client().describe_user_pool_client(
        UserPoolId=pool.pool_id, ClientId=pool.client_id
    )
    assert "ClientSecret" not in client["UserPoolClient"]
    assert signin_stack.authorizer is not None
    environment = signin_stack.authorizer.environment
    assert environment["AUTH_ISSUER"] == pool.issuer
    assert environment["AUTH_AUDIENCE"] == pool.client_id
    assert environment["AUTH_JWKS_URL"] == pool.jwks_url
    assert json.loads(_get(pool.jwks_url))["keys"]
    assert signin_stack.environment["AUTH_MODE"] == "cognito"
    config = _get(signin_stack.page_url + "config.js")
    endpoint = signin_stack.page_url.rstrip("/") + COGNITO_PATH
    assert 'mode: "cognito"' in config
    assert f'endpoint: "{endpoint}"' in config
    assert f'clientId: "{pool.client_id}"' in config
    assert 'signUp: "true" === "true"' in config
    origin = signin_stack.page_url.rstrip("/")
    assert f"connect-src ws://127.0.0.1:{signin_stack.port} {origin};" in _get(
        signin_stack.page_url
    )


def test_the_cognito_endpoint_serves_the_pages_public_operations_only(
    signin_stack: Stack,
) -> None:
    """Sign-up, confirmation and sign-in go through to moto for the pool's client; other
    operations and other clients are refused."""
    pool = signin_stack.user_pool
    assert pool is not None
    user = fresh_room("u")
    status, _ = _cognito(
        signin_stack,
        "SignUp",
        {"ClientId": pool.client_id, "Username": user, "Password": "Passw0rd!long"},
    )
    assert status == 200
    status, _ = _cognito(
        signin_stack,
        "ConfirmSignUp",
        {"ClientId": pool.client_id, "Username": user, "ConfirmationCode": "123456"},
    )
    assert status == 200
    status, answer = _cognito(
        signin_stack,
        "InitiateAuth",
        {
            "ClientId": pool.client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": user, "PASSWORD": "Passw0rd!long"},
        },
    )
    assert status == 200
    assert answer["AuthenticationResult"]["IdToken"].count(".") == 2
    status, answer = _cognito(signin_stack, "ListUsers", {"UserPoolId": pool.pool_id})
    assert (status, answer["__type"]) == (400, "UnknownOperationException")
    status, answer = _cognito(
        signin_stack, "SignUp", {"ClientId": "other", "Username": "x", "Password": "y"}
    )
    assert (status, answer["__type"]) == (400, "ResourceNotFoundException")


def _handshake(stack: Stack, protocols: list[str] | None, name: str = "mallory") -> int:
    async def attempt() -> int:
        key = hashlib.sha256(name.encode()).hexdigest()[:43]
        url = f"{stack.ws_url}?name={name}&room={fresh_room()}&key={key}"
        try:
            async with ws_connect(url, subprotocols=protocols):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def test_a_signed_in_client_connects_and_others_are_refused(signin_stack: Stack) -> None:
    """No token: 401 before the authorizer; a bad token: refused; an ID token of the pool:
    the handshake selects ``awsome-chat`` and the chat names the sender after the account's
    user name (not its ``name`` attribute)."""
    pool = signin_stack.user_pool
    assert pool is not None
    user = plain_username("ada")
    pool.create_user(user, "Passw0rd!long", name="Ada Lovelace")
    tokens = pool.sign_in(user, "Passw0rd!long")
    assert _handshake(signin_stack, None) == 401
    assert _handshake(signin_stack, ["awsome-chat", "not.a.jwt"]) == 401
    assert _handshake(signin_stack, ["awsome-chat", tokens["AccessToken"]]) == 401

    async def chat() -> tuple[str | None, dict[str, Any]]:
        key = hashlib.sha256(b"k").hexdigest()[:43]
        url = f"{signin_stack.ws_url}?name=mallory&room={fresh_room()}&key={key}"
        async with ws_connect(url, subprotocols=["awsome-chat", tokens["IdToken"]]) as ws:
            await ws.send(json.dumps({"action": "sendmessage", "text": "hi"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame.get("type") == "message":
                    return ws.subprotocol, frame

    subprotocol, message = asyncio.run(chat())
    assert subprotocol == "awsome-chat"
    assert message["from"] == user


def _sign_up_on_the_page(stack: Stack, username: str, attributes: dict[str, str]) -> str:
    """What anyone may do: SignUp through the page's Cognito endpoint with attributes of their
    choosing, confirm, sign in; the ID token."""
    assert stack.user_pool is not None
    client_id = stack.user_pool.client_id
    password = "Passw0rd!long"
    status, answer = _cognito(
        stack,
        "SignUp",
        {
            "ClientId": client_id,
            "Username": username,
            "Password": password,
            "UserAttributes": [{"Name": k, "Value": v} for k, v in attributes.items()],
        },
    )
    assert status == 200, answer
    body = {"ClientId": client_id, "Username": username, "ConfirmationCode": "123456"}
    assert _cognito(stack, "ConfirmSignUp", body)[0] == 200
    status, answer = _cognito(
        stack,
        "InitiateAuth",
        {
            "ClientId": client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        },
    )
    assert status == 200, answer
    return str(answer["AuthenticationResult"]["IdToken"])


def test_a_user_who_writes_someone_elses_name_cannot_chat_as_them(signin_stack: Stack) -> None:
    """Issue 25: Mallory signs up on the page with Ada's user name as ``name`` and
    ``preferred_username`` (moto stores them: it does not enforce the client's write
    attributes) and joins Ada's room first. Mallory chats as Mallory; Ada still gets in, under
    her own name, and is not refused (409)."""
    pool = signin_stack.user_pool
    assert pool is not None
    ada = plain_username("ada")
    pool.create_user(ada, "Passw0rd!long")
    ada_token = pool.sign_in(ada, "Passw0rd!long")["IdToken"]
    mallory = plain_username("mallory")
    mallory_token = _sign_up_on_the_page(
        signin_stack, mallory, {"name": ada, "preferred_username": ada}
    )
    room = fresh_room()

    async def chat() -> tuple[dict[str, Any], dict[str, Any]]:
        key = hashlib.sha256(b"k").hexdigest()[:43]
        url = f"{signin_stack.ws_url}?name={ada}&room={room}&key={key}"
        async with (
            ws_connect(url, subprotocols=["awsome-chat", mallory_token]) as first,
            ws_connect(url, subprotocols=["awsome-chat", ada_token]) as second,
        ):
            sent = []
            for ws, text in ((first, "from the first"), (second, "from the second")):
                await ws.send(json.dumps({"action": "sendmessage", "text": text}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if frame.get("type") == "message" and frame["text"] == text:
                        sent.append(frame)
                        break
            return sent[0], sent[1]

    first, second = asyncio.run(chat())
    assert first["from"] == mallory
    assert second["from"] == ada


def test_make_devs_demo_user_signs_in(signin_stack: Stack) -> None:
    """The demo user `make dev AUTH=cognito` prints exists, with the printed password."""
    printed = sign_in_help(signin_stack)
    found = re.search(r"username (\S+), password (\S+)", printed)
    assert found is not None, printed
    assert signin_stack.user_pool is not None
    tokens = signin_stack.user_pool.sign_in(found[1], found[2])
    assert tokens["IdToken"].count(".") == 2


def test_the_cognito_endpoint_revokes_a_refresh_token(signin_stack: Stack) -> None:
    """RevokeToken (moto lacks it; ``local_stack.moto_server`` adds it) through the page's
    endpoint: the revoked refresh token renews nothing and its access token is refused, while
    another session of the same user still renews; an unknown token is 200 too (RFC 7009, as
    Cognito), and a token of another app client is refused."""
    pool = signin_stack.user_pool
    assert pool is not None
    user = fresh_room("revoked")
    pool.create_user(user, "Passw0rd!long")
    revoked, kept = (pool.sign_in(user, "Passw0rd!long") for _ in range(2))

    def renew(refresh_token: str) -> tuple[int, dict[str, Any]]:
        return _cognito(
            signin_stack,
            "InitiateAuth",
            {
                "ClientId": pool.client_id,
                "AuthFlow": "REFRESH_TOKEN_AUTH",
                "AuthParameters": {"REFRESH_TOKEN": refresh_token},
            },
        )

    body = {"Token": revoked["RefreshToken"], "ClientId": pool.client_id}
    assert _cognito(signin_stack, "RevokeToken", body) == (200, {})
    status, answer = renew(revoked["RefreshToken"])
    assert (status, answer["__type"]) == (400, "NotAuthorizedException")
    with pytest.raises(pool.client().exceptions.NotAuthorizedException):
        pool.client().get_user(AccessToken=revoked["AccessToken"])
    assert renew(kept["RefreshToken"])[0] == 200
    assert _cognito(signin_stack, "RevokeToken", {**body, "Token": "unknown"}) == (200, {})

    other = pool.client().create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="other", GenerateSecret=False
    )["UserPoolClient"]["ClientId"]
    with pytest.raises(pool.client().exceptions.UnauthorizedException):
        pool.client().revoke_token(Token=kept["RefreshToken"], ClientId=other)
    assert renew(kept["RefreshToken"])[0] == 200
