"""$connect with sign-in on (AUTH_MODE cognito or oidc): who the user is comes from the
authorizer's context, never from the query; without it the handshake is refused. And the
subprotocol a signed-in page offers is selected in the answer, whatever the mode."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.config import AuthMode
from chat.connections import NAME_ATTRIBUTE, OWNER_ATTRIBUTE
from chat.usecases.connect import user_owner_digest

from tests.backend.conftest import Logs
from tests.backend.test_handler import World, checked, connect_event, message_event

ALICE = "0d5c2f1e-0000-4000-8000-a11ce0000001"
BOB = "0d5c2f1e-0000-4000-8000-b0b000000002"
TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImR1bW15In0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWFsaWNl"


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A world with sign-in on (Cognito)."""
    world = World(dynamodb)
    world.settings = replace(world.settings, auth_mode=AuthMode.COGNITO)
    return world


def signed_in(
    event: dict[str, Any], user_id: str | None, name: str | None = "Alice"
) -> dict[str, Any]:
    """``event`` as API Gateway passes it on once the authorizer allowed ``user_id``."""
    context: dict[str, str] = {}
    if user_id is not None:
        context = {"principalId": user_id, "userId": user_id}
    if name is not None:
        context["name"] = name
    if context:
        event["requestContext"]["authorizer"] = context
    return checked(event)


def offering(event: dict[str, Any], protocol: str) -> dict[str, Any]:
    """``event`` with the client's ``Sec-WebSocket-Protocol`` header."""
    event["headers"]["Sec-WebSocket-Protocol"] = protocol
    event["multiValueHeaders"]["Sec-WebSocket-Protocol"] = [protocol]
    return checked(event)


def test_the_authorizers_name_wins_over_the_query(world: World) -> None:
    """?name= and ?key= are ignored; the name is the context's, the owner the user id's, and
    the room's messages carry that name."""
    event = signed_in(
        connect_event("c1", {"name": "mallory", "room": "general", "key": "x"}), ALICE
    )
    assert world.invoke(event) == {"statusCode": 200}
    item = world.item("c1")
    assert item is not None
    assert item[NAME_ATTRIBUTE] == {"S": "Alice"}
    assert item[OWNER_ATTRIBUTE] == {"S": user_owner_digest(ALICE)}
    body = json.dumps({"action": "sendmessage", "text": "hi", "from": "mallory"})
    assert world.invoke(signed_in(message_event("c1", body), ALICE)) == {"statusCode": 200}
    [frame] = world.sender.frames("c1")
    assert frame["from"] == "Alice"


@pytest.mark.parametrize(
    ("user_id", "name"), [(None, None), (None, "Alice"), (ALICE, None), ("", "Alice")]
)
def test_without_the_authorizers_context_the_handshake_is_refused(
    world: World, logs: Logs, user_id: str | None, name: str | None
) -> None:
    """Defence in depth: a $connect the authorizer did not vouch for (a route left without it)
    is refused with 401, whatever its query says."""
    event = signed_in(connect_event("c1", {"name": "alice", "room": "general"}), user_id, name)
    assert world.invoke(event) == {"statusCode": 401}
    assert world.items() == []
    [line] = logs.invocations()
    assert (line["outcome"], line["reason"]) == ("refused", "not_signed_in")


def test_one_user_holds_their_name_across_tabs_and_nobody_else_can(world: World) -> None:
    """The owner digest is the user id's: Alice's second tab joins, Bob named Alice too is
    refused (409)."""
    assert world.invoke(signed_in(connect_event("a1", {"room": "general"}), ALICE)) == {
        "statusCode": 200
    }
    assert world.invoke(signed_in(connect_event("a2", {"room": "general"}), ALICE)) == {
        "statusCode": 200
    }
    assert world.invoke(signed_in(connect_event("b1", {"room": "general"}), BOB, "alice")) == {
        "statusCode": 409
    }
    assert world.invoke(signed_in(connect_event("b2", {"room": "other"}), BOB, "alice")) == {
        "statusCode": 200
    }


def test_a_long_profile_name_is_cut_and_a_bad_one_refused(world: World) -> None:
    """The user cannot choose another name at the door: a long one is cut to 32 characters;
    one the name rules refuse (a control character) is refused with 400."""
    long_name = "Maria Anna Sophia Cecilia Kalogeropoulou"
    assert world.invoke(signed_in(connect_event("c1", None), ALICE, long_name)) == {
        "statusCode": 200
    }
    item = world.item("c1")
    assert item is not None
    assert item[NAME_ATTRIBUTE] == {"S": long_name[:32].rstrip()}
    assert world.invoke(signed_in(connect_event("c2", None), BOB, "bad\u0000name")) == {
        "statusCode": 400
    }


def test_without_sign_in_the_context_is_ignored(world: World) -> None:
    """AUTH_MODE none: the open chat, whatever the event carries."""
    world.settings = replace(world.settings, auth_mode=AuthMode.NONE)
    event = signed_in(connect_event("c1", {"name": "bob", "room": "general"}), ALICE)
    assert world.invoke(event) == {"statusCode": 200}
    item = world.item("c1")
    assert item is not None
    assert item[NAME_ATTRIBUTE] == {"S": "bob"}
    assert item[OWNER_ATTRIBUTE] == {"S": ""}


@pytest.mark.parametrize("mode", list(AuthMode))
def test_the_offered_subprotocol_is_selected(world: World, logs: Logs, mode: AuthMode) -> None:
    """A page that offers ``awsome-chat, <token>`` gets ``Sec-WebSocket-Protocol: awsome-chat``
    back (browsers fail the handshake otherwise), in every mode; the token is never logged."""
    world.settings = replace(world.settings, auth_mode=mode)
    event = offering(signed_in(connect_event("c1", None), ALICE), f"awsome-chat, {TOKEN}")
    assert world.invoke(event) == {
        "statusCode": 200,
        "headers": {"Sec-WebSocket-Protocol": "awsome-chat"},
    }
    assert all(part not in line for line in logs.lines for part in TOKEN.split("."))


@pytest.mark.parametrize("protocol", ["chat, superchat", "awsome-chat-v2", ""])
def test_no_subprotocol_is_selected_unless_ours_was_offered(world: World, protocol: str) -> None:
    """Selecting a subprotocol the client did not offer fails its handshake: none is."""
    event = offering(signed_in(connect_event("c1", None), ALICE), protocol)
    assert world.invoke(event) == {"statusCode": 200}


def test_a_refused_handshake_selects_no_subprotocol(world: World) -> None:
    """Refusals answer the status alone."""
    event = offering(connect_event("c1", None), f"awsome-chat, {TOKEN}")
    assert world.invoke(event) == {"statusCode": 401}
