"""Fixtures for the authorizer's tests: a Cognito user pool in moto (which signs real RS256
tokens), a key server on 127.0.0.1 that serves a key set the test controls, and the
authorizer's REQUEST event."""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from authorizer.config import EnvVar
from authorizer.logs import LOGGER_NAME, JsonFormatter
from aws_lambda_powertools.utilities.parser.models.apigw_websocket import (
    APIGatewayWebSocketConnectEventRequestContext,
)
from moto import mock_aws
from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse
from moto.utilities.utils import load_resource

from tests.backend.conftest import REGION

EVENTS = Path(__file__).parent / "events"
PASSWORD = "Correct-horse-battery-1"
# The key id moto signs every token with (its jwks-public.json).
MOTO_KID = "dummy"


def moto_key_set() -> dict[str, Any]:
    """The key set moto's Cognito signs with, exactly as moto server serves it."""
    document: dict[str, Any] = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    return document


def signed_by_the_pool(token: str, **changes: Any) -> str:
    """``token``'s claims with ``changes`` (``None`` removes a claim), signed with the key moto's
    Cognito signs with: a token the pool could issue that moto's own never carry (another
    ``iss`` form, an ``azp``)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"), "RS256")
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": MOTO_KID})


def authorizer_event(protocol: str | None) -> dict[str, Any]:
    """The REQUEST authorizer event of a $connect offering ``protocol`` (no header if None);
    its ``requestContext`` checked against Powertools' model of a $connect's."""
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / "connect.json").read_text()))
    APIGatewayWebSocketConnectEventRequestContext.model_validate(event["requestContext"])
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Sec-WebSocket-Protocol")
    if protocol is not None:
        event["headers"]["Sec-WebSocket-Protocol"] = protocol
        event["multiValueHeaders"]["Sec-WebSocket-Protocol"] = [protocol]
    return event


def offering(token: str) -> dict[str, Any]:
    """The event of a page that opened ``new WebSocket(url, ["awsome-chat", token])``."""
    return authorizer_event(f"awsome-chat, {token}")


@dataclass
class Pool:
    """A moto user pool with one app client and a user, ``alice``."""

    client: Any
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        """The pool's issuer, as its tokens' ``iss`` says."""
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def add_client(self) -> str:
        """Another app client of the pool; returns its id."""
        created = self.client.create_user_pool_client(
            UserPoolId=self.pool_id,
            ClientName="other",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            ReadAttributes=["name", "email"],
        )
        client_id: str = created["UserPoolClient"]["ClientId"]
        return client_id

    def sign_up(self, username: str, **attributes: str) -> None:
        """What anyone may do on the page: ``SignUp`` with ``attributes`` of their choosing
        (through the app client, no credentials), then ``ConfirmSignUp``."""
        self.client.sign_up(
            ClientId=self.client_id,
            Username=username,
            Password=PASSWORD,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )
        self.client.confirm_sign_up(
            ClientId=self.client_id, Username=username, ConfirmationCode="123456"
        )

    def add_user(self, username: str, **attributes: str) -> None:
        """A confirmed user with ``PASSWORD`` and ``attributes``."""
        self.client.admin_create_user(
            UserPoolId=self.pool_id,
            Username=username,
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
            MessageAction="SUPPRESS",
        )
        self.client.admin_set_user_password(
            UserPoolId=self.pool_id, Username=username, Password=PASSWORD, Permanent=True
        )

    def sign_in(self, username: str = "alice", client_id: str | None = None) -> dict[str, str]:
        """The tokens a sign-in returns (``IdToken``, ``AccessToken``, ...)."""
        answer = self.client.initiate_auth(
            ClientId=client_id or self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )
        tokens: dict[str, str] = answer["AuthenticationResult"]
        return tokens

    def id_token(self, username: str = "alice", client_id: str | None = None) -> str:
        """A fresh ID token of ``username`` for the app client (default: the pool's)."""
        return self.sign_in(username, client_id)["IdToken"]

    def sub(self, username: str = "alice") -> str:
        """The user's ``sub``."""
        user = self.client.admin_get_user(UserPoolId=self.pool_id, Username=username)
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


def create_pool(client: Any) -> Pool:
    """A user pool, its public app client (as Terraform makes it: users may write their
    e-mail address only) and the user ``alice``. The client reads ``name`` and
    ``preferred_username``, so that tokens carry what a user wrote there."""
    pool_id = client.create_user_pool(PoolName="awsome-chat-test")["UserPool"]["Id"]
    created = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="page",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["name", "preferred_username", "email"],
        WriteAttributes=["email"],
    )
    pool = Pool(client, pool_id, created["UserPoolClient"]["ClientId"])
    pool.add_user("alice", name="Alice Liddell", email="alice@example.com")
    return pool


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    """A user pool in moto (in process), one per module: creating one takes a second."""
    with mock_aws():
        yield create_pool(boto3.client("cognito-idp", region_name=REGION))


@dataclass
class KeyServer:
    """Serves ``documents`` (path -> JSON) and ``redirects`` (path -> location) on 127.0.0.1,
    and records the paths asked for."""

    documents: dict[str, Any] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    base_url: str = ""

    def url(self, path: str) -> str:
        """The full URL of ``path``."""
        return self.base_url + path


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    """A key server on port 0, serving moto's key set at ``/jwks.json`` until told otherwise."""
    state = KeyServer(documents={"/jwks.json": moto_key_set()})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            if self.path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            document = state.documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clean_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No authorizer variable leaks in from the shell."""
    for name in EnvVar:
        monkeypatch.delenv(name, raising=False)


class AuthLogs(logging.Handler):
    """The JSON lines the ``authorizer`` loggers wrote during a test."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def records(self) -> list[dict[str, Any]]:
        """Each line parsed (also proving each line is one JSON object)."""
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def auth_logs() -> Iterator[AuthLogs]:
    """Capture the ``authorizer`` loggers' output as JSON lines."""
    handler = AuthLogs()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
