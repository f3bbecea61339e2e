"""Moderation through the handler, on moto: who moderates, delete of any message, mute, kick,
ban (checked in ``$connect``'s transaction), expiry by the clock, notices, audit lines."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError as BotoClientError
from chat.config import AuthMode
from chat.connection_table import DynamoConnectionStore
from chat.connections import ConnectionId

from tests.backend.conftest import Logs
from tests.backend.test_changes import last, sent, stored_item
from tests.backend.test_handler import (
    NOW_MS,
    World,
    checked,
    connect_event,
    disconnect_event,
    message_event,
    name_test_key,
    send,
)

SECRET = "correct horse battery staple"
SECRET_SHA256 = hashlib.sha256(SECRET.encode()).hexdigest()


def connect(
    world: World,
    cid: str,
    name: str,
    *,
    ip: str = "198.51.100.1",
    key: str | None = None,
    user: str | None = None,
    moderator: bool = False,
) -> int:
    """Connect ``cid`` as ``name`` from ``ip`` (signed in as ``user`` when given); the status."""
    query = {"name": name, "room": "general", "key": key or name_test_key(name)}
    event = connect_event(cid, query)
    event["requestContext"]["identity"]["sourceIp"] = ip
    if user is not None:
        event["requestContext"]["authorizer"] = {
            "principalId": user,
            "userId": user,
            "name": name,
            "moderator": "true" if moderator else "false",
        }
    return world.invoke(checked(event))["statusCode"]


def do(cid: str, route: str, **fields: Any) -> dict[str, Any]:
    """A message event for ``cid`` on ``route`` with a JSON body of ``fields``."""
    return message_event(cid, json.dumps({"action": route, **fields}), route=route)


def frames_of(world: World, cid: str, kind: str) -> list[dict[str, Any]]:
    """The frames of type ``kind`` that ``cid`` received."""
    return [f for f in world.sender.frames(cid) if f["type"] == kind]


@pytest.fixture
def world(dynamodb: Any) -> World:
    """An open chat with a moderator secret: mod (moderator after ``moderate``), bob on two
    devices from one address, carol from another."""
    world = World(dynamodb)
    world.settings = replace(world.settings, moderator_secret_sha256=SECRET_SHA256)
    assert connect(world, "m", "mod", ip="198.51.100.9") == 200
    assert connect(world, "b1", "bob", ip="198.51.100.2") == 200
    assert connect(world, "b2", "bob", ip="198.51.100.2") == 200
    assert connect(world, "c", "carol", ip="198.51.100.3") == 200
    world.invoke(do("m", "moderate", secret=SECRET))
    return world


def test_the_right_secret_makes_a_moderator_and_join_says_so(world: World) -> None:
    """``moderate`` answers ``role``; the connection's join then carries a ``role`` frame after
    ``members``; nobody else gets one."""
    assert last(world, "m") == {"type": "role", "moderator": True}
    world.invoke(do("m", "join"))
    types = [f["type"] for f in world.sender.frames("m")]
    assert types[types.index("members") + 1] == "role"
    world.invoke(do("c", "join"))
    assert frames_of(world, "c", "role") == []


def test_a_non_moderator_is_refused_every_do(world: World, logs: Logs) -> None:
    """carol (no moderator) tries each action: ``not_allowed`` each time (``not_yours`` for a
    delete), nothing stored or sent to the room, and an audit line per attempt."""
    mid = sent(world, "b1")
    before_bob = len(world.sender.frames("b1"))
    for frame in (
        {"name": "bob", "seconds": 600, "a": "mute"},
        {"name": "bob", "a": "kick"},
        {"name": "bob", "seconds": 600, "a": "ban"},
        {"name": "bob", "seconds": 0, "a": "ban"},
        {"secret": "guess", "a": "moderate"},
    ):
        name = frame.pop("a")
        world.invoke(do("c", name, **frame))
        assert last(world, "c")["code"] == "not_allowed", name
    world.invoke(do("c", "deletemessage", id=mid))
    assert last(world, "c")["code"] == "not_yours"
    assert len(world.sender.frames("b1")) == before_bob
    assert world.sender.deleted == []
    assert "text" in stored_item(world, mid)
    world.invoke(send("b1", "still here"))
    assert last(world, "b1")["text"] == "still here"
    audits = [r for r in logs.records if r.get("audit") == "moderation"]
    outcomes = [(r["action"], r["outcome"]) for r in audits if r["connectionId"] == "c"]
    assert outcomes == [
        ("mute", "not_moderator"),
        ("kick", "not_moderator"),
        ("ban", "not_moderator"),
        ("ban", "not_moderator"),
        ("moderate", "wrong_secret"),
    ]
    assert all(SECRET not in line and "guess" not in line for line in logs.lines)


def test_without_a_configured_secret_or_with_sign_in_moderate_is_refused(world: World) -> None:
    """No secret configured: even the right one is refused; with sign-in on, too."""
    world.settings = replace(world.settings, moderator_secret_sha256="")
    world.invoke(do("c", "moderate", secret=SECRET))
    assert last(world, "c")["code"] == "not_allowed"
    world.settings = replace(
        world.settings, moderator_secret_sha256=SECRET_SHA256, auth_mode=AuthMode.COGNITO
    )
    world.invoke(do("c", "moderate", secret=SECRET))
    assert last(world, "c")["code"] == "not_allowed"


def test_guessing_the_secret_ends_in_a_close(world: World) -> None:
    """Wrong secrets spend the refusal budget: the connection is closed, never made one."""
    world.settings = replace(world.settings, rate_limit_refusal_burst=3)
    for attempt in range(6):
        world.invoke(do("c", "moderate", secret=f"guess-{attempt}"))
    assert "c" in world.sender.deleted
    assert frames_of(world, "c", "role") == []


def test_a_moderator_deletes_anyones_message_and_the_tombstone_says_so(world: World) -> None:
    """bob's message deleted by mod: ``deletedBy: moderator`` to the room; mod's own message
    deleted by mod: ``author``; an audit line names the message."""
    mid = sent(world, "b1")
    world.invoke(do("m", "deletemessage", id=mid))
    tombstone = last(world, "c")
    assert (tombstone["deleted"], tombstone["deletedBy"]) == (True, "moderator")
    assert "text" not in stored_item(world, mid)
    own = sent(world, "m")
    world.invoke(do("m", "deletemessage", id=own))
    assert last(world, "c")["deletedBy"] == "author"


def test_a_mute_refuses_sends_with_until_and_lets_the_member_read(world: World) -> None:
    """bob muted for 10 minutes (written ``Bob``): the room gets ``muted`` naming ``bob`` as the
    room shows him, with ``until``; both of bob's
    connections are refused ``muted`` with that ``until`` for send, edit and react; history
    still answers; typing is dropped; the mute ends by the clock."""
    mid = sent(world, "b1")
    world.invoke(do("m", "mute", name="Bob", seconds=600))
    notice = last(world, "c")
    assert notice["type"] == "moderation"
    assert (notice["event"], notice["name"], notice["room"]) == ("muted", "bob", "general")
    assert last(world, "b2") == notice
    for cid in ("b1", "b2"):
        world.invoke(send(cid, "let me speak", clientId="x1"))
        error = last(world, cid)
        assert (error["code"], error["until"], error["clientId"]) == (
            "muted",
            notice["until"],
            "x1",
        )
    world.invoke(do("b1", "editmessage", id=mid, text="edited"))
    assert (last(world, "b1")["code"], last(world, "b1")["id"]) == ("muted", mid)
    world.invoke(do("b1", "react", id=mid, emoji="👍"))
    assert last(world, "b1")["code"] == "muted"
    carol_frames = len(world.sender.frames("c"))
    world.invoke(do("b1", "typing"))
    assert len(world.sender.frames("c")) == carol_frames
    world.invoke(do("b1", "history"))
    assert last(world, "b1")["type"] == "history"
    world.invoke(do("b1", "deletemessage", id=mid))
    assert last(world, "c")["deleted"] is True
    world.clock_ms = NOW_MS + 601_000
    world.invoke(send("b1", "free again"))
    assert last(world, "c")["text"] == "free again"


def test_a_mute_holds_for_a_new_connection_and_can_be_lifted(world: World) -> None:
    """bob reconnects while muted: the new connection is muted too (checked in $connect's
    transaction); another name from bob's address too; ``seconds: 0`` lifts it for all."""
    world.invoke(do("m", "mute", name="bob", seconds=3600))
    assert connect(world, "b3", "bob", ip="198.51.100.2") == 200
    world.invoke(send("b3", "hi"))
    assert last(world, "b3")["code"] == "muted"
    assert connect(world, "x", "bobby", ip="198.51.100.2") == 200
    world.invoke(send("x", "hi"))
    assert last(world, "x")["code"] == "muted"
    world.invoke(do("m", "mute", name="bob", seconds=0))
    assert (last(world, "c")["event"], "until" in last(world, "c")) == ("unmuted", False)
    world.invoke(send("b1", "thanks"))
    assert last(world, "c")["text"] == "thanks"
    assert connect(world, "b4", "bob", ip="198.51.100.2") == 200
    world.invoke(send("b4", "and here"))
    assert last(world, "c")["text"] == "and here"


def test_a_kick_closes_every_connection_of_the_name_after_the_notice(world: World) -> None:
    """Both of bob's connections are closed; the room (bob included) got ``kicked`` first; bob
    may come back at once. Kicking a name not in the room is ``not_found``."""
    world.invoke(do("m", "kick", name="bob"))
    assert sorted(world.sender.deleted) == ["b1", "b2"]
    assert last(world, "b1")["event"] == "kicked"
    assert last(world, "c")["event"] == "kicked"
    for cid in ("b1", "b2"):
        world.invoke(disconnect_event(cid))
    assert connect(world, "b3", "bob", ip="198.51.100.2") == 200
    world.invoke(do("m", "kick", name="nobody"))
    assert last(world, "m")["code"] == "not_found"


def test_a_ban_closes_and_refuses_reconnects_until_it_ends(world: World, logs: Logs) -> None:
    """bob banned for an hour: closed, ``banned`` notice with ``until``; a reconnect as bob
    (any address) or from bob's address (any name) is refused 403 ``banned``; carol and a new
    name elsewhere are not; after the hour bob connects again (moto never expires items: the
    check itself treats an expired ban as none)."""
    world.invoke(do("m", "ban", name="bob", seconds=3600))
    assert sorted(world.sender.deleted) == ["b1", "b2"]
    assert last(world, "c")["event"] == "banned"
    assert last(world, "c")["until"].endswith("Z")
    for cid in ("b1", "b2"):
        world.invoke(disconnect_event(cid))
    assert connect(world, "b3", "bob", ip="198.51.100.77") == 403
    assert connect(world, "b4", "robert", ip="198.51.100.2") == 403
    assert connect(world, "d", "dave", ip="198.51.100.4") == 200
    refused = [r for r in logs.records if r.get("reason") == "banned"]
    assert len(refused) == 2
    ok = [r for r in logs.records if r.get("audit") == "moderation" and r["action"] == "ban"]
    assert (ok[0]["moderator"], ok[0]["target"], ok[0]["until"]) == (
        "mod",
        "bob",
        NOW_MS // 1000 + 3600,
    )
    world.clock_ms = NOW_MS + 3_601_000
    assert connect(world, "b5", "bob", ip="198.51.100.2") == 200


def test_a_ban_of_an_absent_name_applies_and_a_lift_ends_it(world: World) -> None:
    """A ban of a name not present covers the name; ``seconds: 0`` lifts it (``unbanned``)."""
    world.invoke(do("m", "ban", name="eve", seconds=600))
    assert last(world, "c")["event"] == "banned"
    assert connect(world, "e", "eve", ip="198.51.100.5") == 403
    world.invoke(do("m", "ban", name="eve", seconds=0))
    assert last(world, "c")["event"] == "unbanned"
    assert connect(world, "e", "eve", ip="198.51.100.5") == 200


def test_a_lifted_ban_frees_the_address_too(world: World) -> None:
    """Lifting bob's ban by name also lifts its address's items (listed on the name's)."""
    world.invoke(do("m", "ban", name="bob", seconds=600))
    world.invoke(do("m", "ban", name="bob", seconds=0))
    assert connect(world, "x", "robert", ip="198.51.100.2") == 200


def test_a_moderator_cannot_act_on_themselves_or_another_moderator(world: World) -> None:
    """mod on mod (any spelling), and mod on mod2: ``not_allowed``, nothing closed."""
    assert connect(world, "m2", "mod2", ip="198.51.100.8") == 200
    world.invoke(do("m2", "moderate", secret=SECRET))
    for name, target in (("mute", "MOD"), ("kick", "mod"), ("ban", "mod2"), ("mute", "mod2")):
        fields: dict[str, Any] = {"name": target}
        if name != "kick":
            fields["seconds"] = 600
        world.invoke(do("m", name, **fields))
        assert last(world, "m")["code"] == "not_allowed", (name, target)
    assert world.sender.deleted == []
    world.invoke(send("m2", "still speaking"))
    assert last(world, "c")["text"] == "still speaking"


def test_a_moderator_among_a_names_connections_protects_them_all(world: World) -> None:
    """bob's second device presents the secret: muting bob changes neither connection."""
    world.invoke(do("b2", "moderate", secret=SECRET))
    world.invoke(do("m", "mute", name="bob", seconds=600))
    assert last(world, "m")["code"] == "not_allowed"
    world.invoke(send("b1", "not muted"))
    assert last(world, "c")["text"] == "not muted"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "bob", "seconds": 59},
        {"name": "bob", "seconds": 7 * 86400 + 1},
        {"name": "bob", "seconds": "600"},
        {"name": "bob", "seconds": True},
        {"name": "", "seconds": 600},
        {"name": "x" * 65, "seconds": 600},
        {"seconds": 600},
    ],
)
def test_bad_fields_are_invalid_field(world: World, fields: dict[str, Any]) -> None:
    """Durations outside 60 s to a week (0 lifts), and names that are no name: refused."""
    world.invoke(do("m", "mute", **fields))
    assert last(world, "m")["code"] == "invalid_field"


def test_moderator_actions_spend_the_message_budget(world: World) -> None:
    """A moderator's actions are rate limited like its messages."""
    world.settings = replace(world.settings, rate_limit_message_burst=2)
    codes = []
    for _ in range(4):
        world.invoke(do("m", "mute", name="carol", seconds=60))
        codes.append(last(world, "m").get("code"))
    assert "rate_limited" in codes


def test_a_failed_sanction_write_is_not_stored_never_a_crash(world: World) -> None:
    """DynamoDB refusing the mute's write: the moderator gets ``not_stored``; no notice."""

    class Failing(DynamoConnectionStore):
        def sanction(self, keys: list[str], until_s: int, record: dict[str, str]) -> None:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}
            raise BotoClientError(error, "TransactWriteItems")

    world.store_wrapper = lambda store: Failing(world.dynamodb, store._table)
    before = len(world.sender.frames("c"))
    assert world.invoke(do("m", "mute", name="bob", seconds=600)) == {"statusCode": 200}
    assert last(world, "m")["code"] == "not_stored"
    assert len(world.sender.frames("c")) == before


def test_a_failed_moderator_write_is_not_stored_never_a_crash(world: World) -> None:
    """DynamoDB failing the ``moderate`` write: ``not_stored``, no role, status 200."""

    class Failing(DynamoConnectionStore):
        def make_moderator(self, connection_id: ConnectionId) -> bool:
            error = {"Error": {"Code": "InternalServerError", "Message": "x"}}
            raise BotoClientError(error, "UpdateItem")

    world.store_wrapper = lambda store: Failing(world.dynamodb, store._table)
    assert world.invoke(do("c", "moderate", secret=SECRET)) == {"statusCode": 200}
    assert last(world, "c")["code"] == "not_stored"
    assert frames_of(world, "c", "role") == []


def test_moderation_metrics_are_on_the_summary_line(world: World, logs: Logs) -> None:
    """The EMF line of a mute counts ``moderation_actions`` by ``Action``."""
    world.invoke(do("m", "mute", name="bob", seconds=600))
    line = [r for r in logs.records if r.get("route") == "mute"][-1]
    assert line["moderation_actions"] == 1
    assert line["Action"] == "mute"
    directives = line["_aws"]["CloudWatchMetrics"]
    assert any(d["Dimensions"] == [["Function", "Action"]] for d in directives)


# --- sign-in on -------------------------------------------------------------------------------

ALICE = "0d5c2f1e-0000-4000-8000-a11ce0000001"
BOB = "0d5c2f1e-0000-4000-8000-b0b000000002"


@pytest.fixture
def signed(dynamodb: Any) -> World:
    """Sign-in on: alice a moderator by her token, bob not."""
    world = World(dynamodb)
    world.settings = replace(world.settings, auth_mode=AuthMode.COGNITO)
    assert connect(world, "a", "alice", user=ALICE, moderator=True) == 200
    assert connect(world, "b", "bob", user=BOB, ip="198.51.100.2") == 200
    return world


def test_signed_in_the_role_comes_from_the_authorizer(signed: World) -> None:
    """alice's join carries ``role``; bob's does not, and bob cannot claim it by a frame."""
    signed.invoke(do("a", "join"))
    assert frames_of(signed, "a", "role") == [{"type": "role", "moderator": True}]
    signed.invoke(do("b", "join"))
    assert frames_of(signed, "b", "role") == []
    signed.invoke(do("b", "kick", name="alice"))
    assert last(signed, "b")["code"] == "not_allowed"


def test_signed_in_a_ban_covers_the_user_from_anywhere(signed: World) -> None:
    """bob banned: his user is refused from another address (and under the same name)."""
    signed.invoke(do("a", "ban", name="bob", seconds=600))
    assert signed.sender.deleted == ["b"]
    signed.invoke(disconnect_event("b"))
    assert connect(signed, "b2", "bob", user=BOB, ip="192.0.2.50") == 403
    assert connect(signed, "c", "carol", user="carol-id", ip="198.51.100.2") == 200


def test_the_stored_role_is_the_authorizers_alone(signed: World) -> None:
    """The connection items say moderator for alice only."""
    item_a, item_b = signed.item("a"), signed.item("b")
    assert item_a is not None and item_a["moderator"] == {"BOOL": True}
    assert item_b is not None and "moderator" not in item_b
