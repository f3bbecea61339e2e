"""Abuse and impersonation at the door: who may take a name, how full a room may get, how fast
one address may connect, and text that lies about itself."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from tests.backend.test_handler import (
    NOW_MS,
    TABLE,
    World,
    connect_event,
    disconnect_event,
    message_event,
    name_test_key,
)


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A fresh world for one test."""
    return World(dynamodb)


def connect(world: World, cid: str, name: str, key: str | None = None, **extra: str) -> int:
    """The status of a $connect as ``name`` in room general with ``key`` (none if ``None``)."""
    query = {"name": name, "room": "general", **extra}
    if key is not None:
        query["key"] = key
    status: int = world.invoke(connect_event(cid, query))["statusCode"]
    return status


def from_address(event: dict[str, Any], ip: str) -> dict[str, Any]:
    """``event`` as if sent from ``ip``."""
    event = copy.deepcopy(event)
    event["requestContext"]["identity"]["sourceIp"] = ip
    return event


ALICE = name_test_key("alice")
MALLORY = name_test_key("mallory")


def test_a_held_name_is_refused_to_anyone_who_cannot_prove_it(world: World) -> None:
    """Another key, no key, or a look-alike of the name: 409; nothing stored."""
    assert connect(world, "a1", "alice", ALICE) == 200
    assert connect(world, "m1", "alice", MALLORY) == 409
    assert connect(world, "m2", "alice") == 409
    assert connect(world, "m3", "ALICE", MALLORY) == 409
    assert connect(world, "m4", "\uff41lice", MALLORY) == 409  # fullwidth a: NFKC folds it
    assert {item["connectionId"]["S"] for item in world.items()} == {"a1"}


def test_the_same_person_keeps_the_name_across_tabs_and_lingering_connections(
    world: World,
) -> None:
    """With the same key a second tab or a reconnect passes, even while an old connection
    that API Gateway has not noticed is dead still holds the name."""
    assert connect(world, "a1", "alice", ALICE) == 200
    assert connect(world, "a2", "alice", ALICE) == 200  # another tab
    assert connect(world, "a3", "Alice", ALICE) == 200  # the same name, written differently
    assert len(world.items()) == 3


def test_a_whole_script_look_alike_is_the_same_name(world: World) -> None:
    """An all-Cyrillic name that reads as a held Latin one is refused as taken."""
    assert connect(world, "a1", "ace", name_test_key("ace")) == 200
    assert connect(world, "m1", "\u0430\u0441\u0435", MALLORY) == 409


def test_a_name_is_free_again_once_its_holder_left(world: World) -> None:
    """Holding is per room and per presence: after the holder leaves, anyone may take it."""
    assert connect(world, "a1", "alice", ALICE) == 200
    world.invoke(disconnect_event("a1"))
    assert connect(world, "m1", "alice", MALLORY) == 200


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space and more than enough chars"])
def test_a_malformed_key_is_refused(world: World, key: str) -> None:
    """The key is 22 to 128 base64url characters."""
    assert connect(world, "a1", "alice", key) == 400


def test_generated_names_never_collide(world: World) -> None:
    """Clients without a name get a guest name that nobody in the room holds."""
    for cid in ("g1", "g2", "g3"):
        assert world.invoke(connect_event(cid, {"room": "general"}))["statusCode"] == 200
    names = sorted(item["name"]["S"] for item in world.items())
    assert names == ["guest-beef", "guest-beef-2", "guest-beef-3"]


def test_a_full_room_refuses_with_403(world: World) -> None:
    """At ROOM_MAX_MEMBERS connections the next one is refused; other rooms are unaffected."""
    world.settings = replace(world.settings, room_max_members=2)
    for n, cid in enumerate("abc"):
        event = connect_event(cid, {"name": cid, "room": "general", "key": name_test_key(cid)})
        status = world.invoke(from_address(event, f"198.51.100.{n}"))["statusCode"]
        assert status == (403 if cid == "c" else 200)
    other = connect_event("d", {"name": "d", "room": "elsewhere"})
    assert world.invoke(other) == {"statusCode": 200}


def test_one_address_opening_sockets_in_a_burst_is_refused_with_429(world: World) -> None:
    """Past CONNECT_RATE_LIMIT_PER_MINUTE from one source address: 429; another address and
    the next minute are fine; the address is not stored as it is."""
    world.settings = replace(world.settings, connect_rate_limit_per_minute=3)
    statuses = [
        world.invoke(from_address(connect_event(f"c{n}", {"name": f"u{n}"}), "198.51.100.7"))
        for n in range(5)
    ]
    assert [s["statusCode"] for s in statuses] == [200, 200, 200, 429, 429]
    elsewhere = from_address(connect_event("x", {"name": "x"}), "198.51.100.8")
    assert world.invoke(elsewhere) == {"statusCode": 200}
    world.clock_ms = NOW_MS + 60_000
    later = from_address(connect_event("later", {"name": "later"}), "198.51.100.7")
    assert world.invoke(later) == {"statusCode": 200}
    raw = json.dumps(world.dynamodb.scan(TableName=TABLE)["Items"])
    assert "198.51.100" not in raw
    counters = [
        item
        for item in world.dynamodb.scan(TableName=TABLE)["Items"]
        if item["connectionId"]["S"].startswith("connect#")
    ]
    assert counters
    assert all(int(item["expiresAt"]["N"]) <= NOW_MS // 1000 + 4 * 60 for item in counters)


@pytest.mark.parametrize(
    "text",
    [
        "invoice_\u202efdp.exe",  # right-to-left override
        "a\u2066b\u2069",  # isolates
        "bell\u0007",
        "c1\u0085control",
        "esc\u001b[31m",
    ],
)
def test_text_that_lies_about_itself_is_refused(world: World, text: str) -> None:
    """Controls other than newline and tab, bidi overrides and isolates: invalid_field."""
    world.join("a")
    world.join("b")
    body = json.dumps({"action": "sendmessage", "text": text})
    world.invoke(message_event("a", body))
    [error] = world.sender.frames("a")
    assert error["code"] == "invalid_field"
    assert world.sender.frames("b") == []


def test_newlines_and_tabs_are_text(world: World) -> None:
    """Multi-line messages and tabs pass."""
    world.join("a")
    body = json.dumps({"action": "sendmessage", "text": "line one\n\tline two"})
    world.invoke(message_event("a", body))
    assert world.sender.frames("a")[0]["text"] == "line one\n\tline two"
