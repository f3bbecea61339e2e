"""The authorizer's output names what the chat reads."""

from __future__ import annotations

from authorizer.policy import MODERATOR_KEY, NAME_KEY, USER_ID_KEY, allow
from authorizer.verify import Identity
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponseWebSocket,
)
from chat.events import AUTHORIZER_MODERATOR, AUTHORIZER_NAME, AUTHORIZER_USER_ID


def test_the_context_carries_the_keys_the_chat_reads() -> None:
    """``requestContext.authorizer`` of every later event holds ``userId`` and ``name``."""
    assert (USER_ID_KEY, NAME_KEY) == (AUTHORIZER_USER_ID, AUTHORIZER_NAME) == ("userId", "name")
    answer = allow(Identity(user_id="u-1", name="Alice"), "arn:aws:execute-api:r:1:a/s/$connect")
    assert answer["context"] == {"userId": "u-1", "name": "Alice", "moderator": "false"}
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Resource"] == "arn:aws:execute-api:r:1:a/s/$connect"


def test_the_answer_is_the_one_powertools_builds_for_this_route() -> None:
    """The same principal, policy and context as AWS Lambda Powertools' WebSocket authorizer
    response allowing only ``$connect`` (which writes the one resource as a list)."""
    method_arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/$connect"
    context = {"userId": "u-1", "name": "Alice", "moderator": "false"}
    expected = APIGatewayAuthorizerResponseWebSocket.from_route_arn(method_arn, "u-1", context)
    expected.allow_route(resource="$connect")
    answer = allow(Identity(user_id="u-1", name="Alice"), method_arn)
    [statement] = answer["policyDocument"]["Statement"]
    statement["Resource"] = [statement["Resource"]]
    assert answer == expected.asdict()


def test_a_moderator_is_told_by_a_string_the_chat_reads() -> None:
    """``moderator`` is ``"true"`` for a moderator (context values are strings), under the key
    ``chat.events`` reads."""
    assert MODERATOR_KEY == AUTHORIZER_MODERATOR
    answer = allow(Identity("u-1", "Alice", moderator=True), "arn:aws:execute-api:r:1:a/s/$connect")
    assert answer["context"][MODERATOR_KEY] == "true"
