"""Presence through the handler: the join round trip, member lists, joined and left notices."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.connections import ConnectionId, RoomMember
from chat.frames import MEMBERS_FRAME_BUDGET, members_frame
from chat.ids import iso_utc
from chat.presence import Member, names_gone, present_elsewhere, roster

from tests.backend.test_handler import NOW_MS, World, disconnect_event, message_event


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A fresh world for one test."""
    return World(dynamodb)


def action(cid: str, name: str, **fields: Any) -> dict[str, Any]:
    """A message event for ``cid`` carrying ``{"action": name, ...}``."""
    return message_event(cid, json.dumps({"action": name, **fields}), route=name)


def types(world: World, cid: str) -> list[str]:
    """The types of the frames ``cid`` received, in order."""
    return [f["type"] for f in world.sender.frames(cid)]


def entry(cid: str, name: str, since: int) -> RoomMember:
    """A room index entry."""
    return RoomMember(ConnectionId(cid), name, since)


def test_roster_counts_names_once_with_their_earliest_connection() -> None:
    """Several connections under one name are one member with a count, ordered by since."""
    entries = [entry("a1", "alice", 20), entry("b", "bob", 10), entry("a2", "alice", 5)]
    assert roster(entries) == [Member("alice", 5, 2), Member("bob", 10, 1)]
    assert present_elsewhere("alice", entries, ConnectionId("a1")) is True
    assert present_elsewhere("bob", entries, ConnectionId("b")) is False
    assert names_gone([ConnectionId("a1"), ConnectionId("b")], entries) == (
        ["bob"],
        [entries[2]],
    )


def test_join_answers_members_then_history_and_tells_the_others(world: World) -> None:
    """One round trip: members and the newest page to the joiner; joined to everyone else."""
    world.join("a", name="alice")
    world.join("b", name="bob")
    world.invoke(action("b", "join"))
    members, history = world.sender.frames("b")
    assert members == {
        "type": "members",
        "room": "general",
        "count": 2,
        "members": [
            {"name": "alice", "since": iso_utc(NOW_MS), "connections": 1},
            {"name": "bob", "since": iso_utc(NOW_MS), "connections": 1},
        ],
        "complete": True,
    }
    assert (history["type"], history["messages"], history["more"]) == ("history", [], False)
    assert world.sender.frames("a") == [
        {"type": "presence", "event": "joined", "room": "general", "name": "bob", "count": 2}
    ]


def test_join_takes_the_history_cursor(world: World) -> None:
    """join after= brings the same page a history after= would (the reconnect case)."""
    world.join("a")
    world.invoke(message_event("a", json.dumps({"action": "sendmessage", "text": "one"})))
    first = world.sender.frames("a")[0]["id"]
    world.invoke(message_event("a", json.dumps({"action": "sendmessage", "text": "two"})))
    world.invoke(action("a", "join", after=first))
    page = world.sender.frames("a")[-1]
    assert page["after"] == first
    assert [m["text"] for m in page["messages"]] == ["two"]


def test_a_second_connection_under_a_name_is_not_announced(world: World) -> None:
    """Another tab, or a page reconnecting while its old connection lingers: no joined."""
    world.join("a", name="alice")
    world.join("b", name="bob")
    world.join("a2", name="alice")
    world.invoke(action("a2", "join"))
    assert world.sender.frames("b") == []
    members = world.sender.frames("a2")[0]
    assert [(m["name"], m["connections"]) for m in members["members"]] == [
        ("alice", 2),
        ("bob", 1),
    ]
    assert members["count"] == 2


def test_the_last_connection_of_a_name_leaving_is_announced(world: World) -> None:
    """left only when the name's last connection goes; never posted to the one leaving."""
    world.join("a", name="alice")
    world.join("a2", name="alice")
    world.join("b", name="bob")
    world.invoke(disconnect_event("a"))
    assert world.sender.frames("b") == []
    world.invoke(disconnect_event("a2"))
    assert world.sender.frames("b") == [
        {"type": "presence", "event": "left", "room": "general", "name": "alice", "count": 1}
    ]
    assert world.sender.frames("a") == world.sender.frames("a2") == []


def test_a_repeated_or_unknown_disconnect_posts_nothing(world: World) -> None:
    """$disconnect may come twice or for an item already pruned: nobody hears twice."""
    world.join("a", name="alice")
    world.join("b", name="bob")
    world.invoke(disconnect_event("a"))
    world.invoke(disconnect_event("a"))
    world.invoke(disconnect_event("never-connected"))
    assert len(world.sender.frames("b")) == 1


def test_expired_members_are_not_listed(world: World) -> None:
    """A connection whose item has expired (its $disconnect was lost) is not a member."""
    world.join("old", name="ghost")
    world.dynamodb.update_item(
        TableName="awsome-chat-test-connections",
        Key={"connectionId": {"S": "old"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(NOW_MS // 1000 - 1)}},
    )
    world.join("b", name="bob")
    world.invoke(action("b", "members"))
    [members] = world.sender.frames("b")
    assert [m["name"] for m in members["members"]] == ["bob"]
    assert world.sender.frames("old") == []


def test_large_rooms_get_no_notices_but_can_ask_for_the_list(world: World) -> None:
    """Above the notice limit nothing is announced; members still get the list and count."""
    world.settings = replace(world.settings, presence_notice_max_members=2)
    for cid in ("a", "b", "c", "d"):
        world.join(cid)
    world.invoke(action("d", "join"))
    assert world.sender.frames("a") == world.sender.frames("b") == []
    assert types(world, "d") == ["members", "history"]
    world.invoke(disconnect_event("a"))  # three names remain: still above the limit
    assert world.sender.frames("b") == []
    world.invoke(action("b", "members"))
    assert world.sender.frames("b")[0]["count"] == 3


def test_members_of_an_unknown_connection_is_not_connected(world: World) -> None:
    """Without a stored connection there is no room."""
    world.invoke(action("ghost", "members"))
    assert world.sender.frames("ghost")[0]["code"] == "not_connected"


def test_a_members_frame_is_cut_to_its_budget() -> None:
    """Thousands of long names: the frame stays within its budget, says incomplete, counts all."""
    members = [Member(f"{n:04d}" + "\U0001f600" * 28, n, 1) for n in range(2000)]
    data = members_frame("lobby", members)
    assert len(data) <= MEMBERS_FRAME_BUDGET
    frame = json.loads(data)
    assert frame["count"] == 2000
    assert frame["complete"] is False
    assert 0 < len(frame["members"]) < 2000
    assert [m["name"] for m in frame["members"]] == [
        m.name for m in members[: len(frame["members"])]
    ]
