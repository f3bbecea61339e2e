"""The emulator's Lambda REQUEST authorizer on ``$connect``: the rules (pure), the event's shape
(against Powertools' published models), and the behaviour end to end, with the test authorizer
(``tests/local_stack/authorizers.py``) in the emulator's real Lambda workers and real WebSocket
clients over the network."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from aws_lambda_powertools.utilities.parser.models.apigw import ApiGatewayAuthorizerToken
from aws_lambda_powertools.utilities.parser.models.apigw_websocket import (
    APIGatewayWebSocketConnectEventRequestContext,
)
from pydantic import BaseModel
from websockets.exceptions import InvalidStatus

from local_stack.emulator.authorization import (
    Authorization,
    MalformedOutputError,
    decide_authorization,
    identity_values,
    method_arn,
    policy_allows,
)
from local_stack.emulator.core import close_reasons, events, responses, sockets
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.responses import InvocationFailed, InvocationOk
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.server import Emulator
from local_stack.emulator.settings import AuthorizerSettings, EmulatorSettings
from local_stack.stack import Stack, running_stack
from tests.local_stack.support import (
    REPO_ROOT,
    TEST_ROUTES,
    EventLog,
    handler_options,
    whoami,
    ws_connect,
)

ARN = "arn:aws:execute-api:eu-west-1:000000000000:abc123/prod/$connect"
PROTOCOL_HEADER = "route.request.header.Sec-WebSocket-Protocol"


class WebSocketAuthorizerEvent(ApiGatewayAuthorizerToken):
    """API Gateway's WebSocket REQUEST authorizer event, from Powertools' published parts.

    Powertools has no model of this event: its ``ApiGatewayAuthorizerRequest`` is the REST
    API's (HTTP method, resource path). This takes its ``type``/``methodArn`` pair, with the
    type a REQUEST, and the WebSocket ``$connect`` request context, as the developer guide's
    example event has them ("Control access to WebSocket APIs with AWS Lambda REQUEST
    authorizers").
    """

    type: Literal["REQUEST"]  # type: ignore[assignment]
    authorizationToken: None = None  # type: ignore[assignment]
    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    queryStringParameters: dict[str, str]
    multiValueQueryStringParameters: dict[str, list[str]]
    stageVariables: dict[str, str]
    requestContext: APIGatewayWebSocketConnectEventRequestContext


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# --------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        (ARN, True),
        ("*", True),
        ("arn:aws:execute-api:eu-west-1:000000000000:abc123/prod/*", True),
        ("arn:aws:execute-api:*:*:abc123/*", True),
        ("arn:aws:execute-api:eu-west-1:000000000000:abc123/prod/$conn?ct", True),
        ("arn:aws:execute-api:eu-west-1:000000000000:abc123/prod/*/*", False),
        ("arn:aws:execute-api:eu-west-1:000000000000:abc123/test/$connect", False),
        ("arn:aws:execute-api:eu-west-1:000000000000:ABC123/prod/$connect", False),
        ([ARN.replace("prod", "dev"), ARN], True),
    ],
)
def test_policy_resources_match_with_iam_wildcards(resource: Any, allowed: bool) -> None:
    """``*`` and ``?`` match as in IAM (``*`` crosses ``/``), resources are case-sensitive,
    and a REST-style ``stage/*/*`` does not cover ``stage/$connect``."""
    assert policy_allows(_policy(_allow(resource)), "execute-api:Invoke", ARN) is allowed


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("execute-api:Invoke", True),
        ("execute-api:invoke", True),
        ("execute-api:*", True),
        ("*", True),
        (["s3:GetObject", "execute-api:Invoke"], True),
        ("execute-api:ManageConnections", False),
    ],
)
def test_policy_actions_match_case_insensitively(action: Any, allowed: bool) -> None:
    """Action names match case-insensitively, with wildcards, as IAM's do."""
    assert policy_allows(_policy(_allow(ARN, action)), "execute-api:Invoke", ARN) is allowed


def test_an_explicit_deny_wins_and_not_resource_excludes() -> None:
    """A Deny that matches beats any Allow; ``NotResource`` allows everything but its list;
    a single statement object works like a list of one."""
    deny = {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*"}
    assert not policy_allows(_policy(_allow("*"), deny), "execute-api:Invoke", ARN)
    not_this = {"Effect": "Allow", "Action": "*", "NotResource": ARN}
    assert not policy_allows(_policy(not_this), "execute-api:Invoke", ARN)
    assert policy_allows({"Statement": _allow(ARN)}, "execute-api:Invoke", ARN)
    assert not policy_allows(_policy(), "execute-api:Invoke", ARN)


@pytest.mark.parametrize(
    "document",
    [
        None,
        {},
        {"Statement": "Allow"},
        _policy({"Effect": "Maybe", "Action": "*", "Resource": "*"}),
        _policy({"Effect": "Allow", "Resource": "*"}),
        _policy({"Effect": "Allow", "Action": "*"}),
        _policy({"Effect": "Allow", "Action": [], "Resource": "*"}),
        _policy({"Effect": "Allow", "Action": "*", "Resource": 7}),
    ],
)
def test_a_policy_iam_would_not_accept_is_malformed(document: Any) -> None:
    """A document without statements, or a statement IAM would refuse, is an error."""
    with pytest.raises(MalformedOutputError):
        policy_allows(document, "execute-api:Invoke", ARN)


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (InvocationFailed("Exception", "Unauthorized"), 401),
        (InvocationFailed("Exception", "unauthorized"), 500),
        (InvocationFailed("Sandbox.Timedout", "Task timed out"), 500),
        (responses.IntegrationTimedOut(), 500),
        (InvocationOk(None), 500),
        (InvocationOk({"policyDocument": _policy(_allow(ARN))}), 500),
        (InvocationOk({"principalId": "u", "policyDocument": "allow"}), 500),
        (
            InvocationOk(
                {"principalId": "u", "policyDocument": _policy(_allow(ARN)), "context": {"a": [1]}}
            ),
            500,
        ),
        (InvocationOk({"principalId": "u", "policyDocument": _policy()}), 403),
        (InvocationOk({"principalId": "u", "policyDocument": _policy(_allow(ARN + "x"))}), 403),
    ],
)
def test_refusals_follow_api_gateway(result: responses.IntegrationResult, status: int) -> None:
    """A raised ``Unauthorized`` is 401, other errors and malformed outputs 500, a policy that
    does not allow the method ARN 403."""
    decision = decide_authorization(result, ARN)
    assert (decision.allowed, decision.status) == (False, status)
    assert json.loads(decision.body)["message"]


def test_an_allow_passes_the_principal_and_the_context() -> None:
    """An Allow's ``principalId`` and context become ``requestContext.authorizer``."""
    decision = decide_authorization(
        InvocationOk(
            {
                "principalId": "sub-1",
                "policyDocument": _policy(_allow(ARN)),
                "context": {"userId": "sub-1", "name": "Ada", "admin": False, "n": 2},
            }
        ),
        ARN,
    )
    assert decision == Authorization(
        True,
        200,
        {"principalId": "sub-1", "userId": "sub-1", "name": "Ada", "admin": False, "n": 2},
    )


def _connection(
    headers: list[tuple[str, str]], query: list[tuple[str, str]] | None = None
) -> sockets.ClientSocket:
    registry = sockets.SocketRegistry(
        clock=lambda: 1_764_000_000.0, new_id=lambda: "L0SM9cOFvHcCIhw="
    )
    return registry.begin(
        source_ip="192.0.2.1",
        user_agent="Mozilla/5.0",
        domain_name="abc123.execute-api.eu-west-1.amazonaws.com",
        headers=headers,
        query=query or [],
    )


def test_identity_sources_read_headers_case_insensitively_and_query_strings() -> None:
    """Header sources ignore the name's case; a missing or empty source gives None."""
    connection = _connection([("sec-websocket-protocol", "awsome-chat, t0k")], [("token", "q")])
    assert identity_values(connection, (PROTOCOL_HEADER,)) == ["awsome-chat, t0k"]
    both = (PROTOCOL_HEADER, "route.request.querystring.token")
    assert identity_values(connection, both) == ["awsome-chat, t0k", "q"]
    assert identity_values(connection, ("route.request.querystring.Token",)) is None
    assert identity_values(_connection([("Sec-WebSocket-Protocol", " ")]), both) is None


def test_unsupported_identity_sources_and_half_configured_emulators_fail_loudly() -> None:
    """An identity source the emulator cannot evaluate, or an authorizer without its invoker,
    is a configuration error."""
    function = FunctionSettings(handler="tests.local_stack.authorizers.handler", code_dir=REPO_ROOT)
    with pytest.raises(EmulatorConfigError, match="identity source"):
        AuthorizerSettings(function, ("stageVariables.token",))
    with pytest.raises(EmulatorConfigError, match="at least one"):
        AuthorizerSettings(function, ())
    settings = EmulatorSettings(authorizer=AuthorizerSettings(function, (PROTOCOL_HEADER,)))

    async def invoke(_event: Any) -> responses.InvocationResult:
        return InvocationOk({})

    with pytest.raises(EmulatorConfigError, match="go together"):
        Emulator(settings, invoke)


def test_the_authorizer_event_validates_against_the_published_models() -> None:
    """The built event has the developer guide's shape: ``type``, ``methodArn`` of
    ``$connect`` (no HTTP verb), headers, query strings and stage variables, and the
    ``$connect`` request context; the later events with an authorizer context still parse with
    Powertools' WebSocket models."""
    connection = _connection(
        [
            ("Host", "abc123.execute-api.eu-west-1.amazonaws.com"),
            ("Sec-WebSocket-Protocol", "a, b"),
        ],
        [("room", "lobby")],
    )
    builder = events.EventBuilder("abc123", "prod", lambda: 1_764_000_000.5)
    arn = method_arn("eu-west-1", "abc123", "prod")
    assert arn == ARN
    event = builder.authorizer_request(connection, "req1", arn)
    parsed = WebSocketAuthorizerEvent.model_validate(event)
    assert parsed.methodArn == ARN
    assert parsed.requestContext.route_key == "$connect"
    assert "isBase64Encoded" not in event
    assert "authorizer" not in event["requestContext"]
    assert event["queryStringParameters"] == {"room": "lobby"}

    connection.authorizer = {"principalId": "p", "userId": "u", "name": "N"}
    connect = builder.connect(connection, "req2")
    message = builder.message(connection, "sendmessage", "{}", request_id="r3", message_id="m")
    disconnect = builder.disconnect(connection, close_reasons.NO_STATUS, "req4")
    for built, model in [
        (connect, APIGatewayWebSocketConnectEventModel),
        (message, APIGatewayWebSocketMessageEventModel),
        (disconnect, APIGatewayWebSocketDisconnectEventModel),
    ]:
        validated: BaseModel = model.model_validate(built)
        assert validated is not None
        assert built["requestContext"]["authorizer"] == connection.authorizer


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def auth_log(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    """Where the test handler logs its events."""
    return EventLog(Path(tmp_path_factory.mktemp("auth-events")) / "events.jsonl")


@pytest.fixture(scope="module")
def authorizer_log(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    """Where the test authorizer logs its events."""
    return EventLog(Path(tmp_path_factory.mktemp("authorizer-events")) / "events.jsonl")


@pytest.fixture(scope="module")
def auth_stack(auth_log: EventLog, authorizer_log: EventLog) -> Iterator[Stack]:
    """A stack running the test handler behind the test authorizer on the protocol header."""
    authorizer = AuthorizerSettings(
        FunctionSettings(
            handler="tests.local_stack.authorizers.handler",
            code_dir=REPO_ROOT,
            environment={"EVENT_LOG": str(authorizer_log.path)},
            timeout_s=2.0,
            function_name="awsome-chat-local-test-authorizer",
        ),
        (PROTOCOL_HEADER,),
    )
    options = handler_options(
        auth_log.path, emulator=EmulatorSettings(routes=TEST_ROUTES, authorizer=authorizer)
    )
    with running_stack(options) as running:
        yield running


def test_offered_subprotocols_are_never_logged(
    auth_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """When ``$connect`` selects none of the offered subprotocols (here: the test handler
    answers none), aiohttp's warning does not show them: one may be a sign-in token."""
    caplog.set_level(logging.DEBUG)

    async def attempt() -> str | None:
        url = auth_stack.ws_url  # no ?protocol=: the handler selects none
        async with ws_connect(url, subprotocols=["allow-secret", "allow-bob"]) as ws:
            return ws.subprotocol

    assert asyncio.run(attempt()) is None
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets")]
    assert any("Client protocols" in line for line in ours)
    assert not any("allow-bob" in line for line in ours)


def _refused_status(stack: Stack, protocols: list[str] | None) -> int:
    async def attempt() -> int:
        try:
            async with ws_connect(stack.ws_url + "?protocol=awsome-chat", subprotocols=protocols):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def test_a_missing_identity_source_is_refused_401_without_invoking(
    auth_stack: Stack, auth_log: EventLog, authorizer_log: EventLog
) -> None:
    """No ``Sec-WebSocket-Protocol``: 401, and neither the authorizer nor ``$connect`` runs."""
    before = auth_stack.counters().get("authorizer", 0)
    invoked = len(authorizer_log.records())
    connects = len(auth_log.events(route="$connect"))
    assert _refused_status(auth_stack, None) == 401
    assert auth_stack.counters().get("authorizer", 0) == before
    assert len(authorizer_log.records()) == invoked
    assert len(auth_log.events(route="$connect")) == connects


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        ("raise", 401),
        ("deny", 403),
        ("other-route", 403),
        ("rest-wildcard", 403),
        ("crash", 500),
        ("malformed", 500),
        ("nested", 500),
    ],
)
def test_refused_handshakes_answer_as_api_gateway(
    auth_stack: Stack, auth_log: EventLog, verdict: str, status: int
) -> None:
    """Unauthorized is 401, a Deny or an Allow that misses ``$connect`` 403, an error or a
    malformed output 500; ``$connect`` never runs for them."""
    connects = len(auth_log.events(route="$connect"))
    assert _refused_status(auth_stack, ["awsome-chat", verdict]) == status
    assert len(auth_log.events(route="$connect")) == connects


def test_a_stage_wildcard_allow_connects(auth_stack: Stack) -> None:
    """An Allow on ``{api}/{stage}/*`` covers the ``$connect`` method ARN."""
    assert _refused_status(auth_stack, ["awsome-chat", "stage-wildcard"]) == 101


def test_an_allow_carries_its_context_into_every_event_of_the_connection(
    auth_stack: Stack,
    auth_log: EventLog,
    authorizer_log: EventLog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The authorizer gets API Gateway's event; on Allow the handshake selects the subprotocol
    ``$connect`` answered with, and ``$connect``, messages and ``$disconnect`` all carry
    ``{"principalId", **context}`` in ``requestContext.authorizer``."""

    async def session() -> tuple[str, str | None]:
        url = auth_stack.ws_url + "?protocol=awsome-chat"
        async with ws_connect(url, subprotocols=["awsome-chat", "allow-ada"]) as ws:
            return await whoami(ws), ws.subprotocol

    caplog.set_level(logging.DEBUG)
    connection_id, subprotocol = asyncio.run(session())
    assert subprotocol == "awsome-chat"
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets")]
    assert not any("allow-ada" in line for line in ours)  # what is offered may be a token
    expected = {"principalId": "p-ada", "userId": "ada", "name": "User ada"}
    for route in ("$connect", "echo", "$disconnect"):
        event = auth_log.wait_for(route, connection_id)
        assert event["requestContext"]["authorizer"] == expected, route
    request = authorizer_log.wait_for("$connect", connection_id)
    request.pop("authorizer")  # the test authorizer's own marker
    parsed = WebSocketAuthorizerEvent.model_validate(request)
    assert parsed.methodArn == method_arn(auth_stack.region, "loca1stack", "local")
    assert parsed.headers["Sec-WebSocket-Protocol"] == "awsome-chat, allow-ada"
    assert parsed.queryStringParameters == {"protocol": "awsome-chat"}


def test_without_an_authorizer_events_have_no_authorizer_context(
    stack: Stack, event_log: EventLog
) -> None:
    """An API without an authorizer sends no ``requestContext.authorizer`` (as today)."""

    async def session() -> str:
        async with ws_connect(stack.ws_url) as ws:
            return await whoami(ws)

    connection_id = asyncio.run(session())
    assert "authorizer" not in event_log.wait_for("$connect", connection_id)["requestContext"]
