"""Durable messages through the handler: stored before seen, idempotent sends, history pages."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.errors import MessageNotStored
from chat.frames import HISTORY_FRAME_BUDGET, MESSAGE_FRAME_MAX
from chat.handler import handle
from chat.ids import encode_ulid
from chat.message_table import DynamoMessageStore
from chat.runtime import Runtime
from chat.stored import StoredMessage

from tests.backend.conftest import MESSAGES_TABLE
from tests.backend.fakes import FakeContext
from tests.backend.test_handler import NOW_MS, World, message_event, send

POST_LIMIT_BYTES = 128 * 1024  # API Gateway's @connections payload quota


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A fresh world for one test."""
    return World(dynamodb)


def history(cid: str, **fields: Any) -> dict[str, Any]:
    """A history event for ``cid`` with ``fields``."""
    return message_event(cid, json.dumps({"action": "history", **fields}), route="history")


def stored_ids(world: World, room: str = "general") -> list[str]:
    """The ids of the messages stored for ``room`` (the test may read the table directly)."""
    items = world.dynamodb.query(
        TableName=MESSAGES_TABLE,
        KeyConditionExpression="room = :r",
        ExpressionAttributeValues={":r": {"S": room}},
    )["Items"]
    return [item["id"]["S"] for item in items]


def store_directly(world: World, count: int, *, room: str = "general", text: str = "") -> list[str]:
    """Put ``count`` messages into ``room`` as earlier sends would have; returns their ids."""
    store = DynamoMessageStore(world.dynamodb, MESSAGES_TABLE)
    ids = []
    for n in range(count):
        sent_ms = NOW_MS - 100_000 + n
        message_id = encode_ulid(sent_ms, n)
        store.add(
            StoredMessage(
                message_id, room, "bob", text or f"m{n}", sent_ms, sent_ms // 1000 + 7 * 86400
            ),
            None,
            sent_ms // 1000,
        )
        ids.append(message_id)
    return ids


def test_a_message_is_stored_then_broadcast_and_only_the_sender_sees_its_client_id(
    world: World,
) -> None:
    """The stored item and the room's frames agree; the clientId reaches the sender alone."""
    world.join("a")
    world.join("b")
    assert world.invoke(send("a", "hello", clientId="c-1")) == {"statusCode": 200}
    [own] = world.sender.frames("a")
    [theirs] = world.sender.frames("b")
    assert own.pop("clientId") == "c-1"
    assert own == theirs
    assert "clientId" not in theirs
    assert stored_ids(world) == [theirs["id"]]


def test_a_resent_client_id_is_stored_and_broadcast_once(world: World) -> None:
    """A resend (after a reconnect) tells the sender the first id and nobody else anything."""
    world.join("a")
    world.join("b")
    world.invoke(send("a", "hello", clientId="c-1"))
    world.join("a2", name="user-a")  # the same person, reconnected
    world.invoke(send("a2", "hello", clientId="c-1"))
    [first] = world.sender.frames("a")
    [answer] = world.sender.frames("a2")
    assert answer == first
    assert len(world.sender.frames("b")) == 1
    assert stored_ids(world) == [first["id"]]


def test_a_failed_write_is_told_to_the_sender_and_seen_by_nobody(world: World) -> None:
    """Stored before seen: if the write fails, the sender gets not_stored and nobody a message."""

    class Failing:
        def add(self, *_: Any) -> Any:
            raise MessageNotStored("ProvisionedThroughputExceededException")

        def read(self, *_: Any, **__: Any) -> Any:
            raise AssertionError("not read")

    world.join("a")
    world.join("b")
    runtime: Runtime = replace(world.runtime(), messages=Failing())
    event = send("a", "hello", clientId="c-1")
    assert handle(event, FakeContext(), runtime_factory=lambda: runtime) == {"statusCode": 200}
    [error] = world.sender.frames("a")
    assert error["type"] == "error"
    assert (error["code"], error["clientId"]) == ("not_stored", "c-1")
    assert "Throughput" not in error["message"]
    assert world.sender.frames("b") == []
    assert stored_ids(world) == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": "", "clientId": "c-1"}, "empty_message"),
        ({"text": 5, "clientId": "c-1"}, "invalid_field"),
    ],
)
def test_errors_about_a_message_carry_its_client_id(
    world: World, fields: dict[str, Any], code: str
) -> None:
    """The sender learns which message failed."""
    world.join("a")
    world.invoke(message_event("a", json.dumps({"action": "sendmessage", **fields})))
    [error] = world.sender.frames("a")
    assert (error["code"], error["clientId"]) == (code, "c-1")


@pytest.mark.parametrize("client_id", ["", "x" * 65, "has space", "ünï", 7, None])
def test_a_bad_client_id_is_refused(world: World, client_id: Any) -> None:
    """clientId is 1-64 of A-Z a-z 0-9 _ -; anything else is invalid_field, nothing stored."""
    world.join("a")
    body = {"action": "sendmessage", "text": "hi", "clientId": client_id}
    world.invoke(message_event("a", json.dumps(body)))
    [frame] = world.sender.frames("a")
    if client_id is None:  # JSON null: absent
        assert frame["type"] == "message"
        return
    assert frame["code"] == "invalid_field"
    assert "clientId" not in frame
    assert stored_ids(world) == []


def test_a_frame_larger_than_a_message_frame_may_be_is_refused_unstored(world: World) -> None:
    """Sizes are measured encoded: a character takes up to four bytes."""
    world.settings = replace(world.settings, max_message_chars=20_000)
    world.join("a")
    text = "\U0001f600" * (MESSAGE_FRAME_MAX // 4)  # under the character limit, over in bytes
    world.invoke(send("a", text, clientId="big"))
    [error] = world.sender.frames("a")
    assert (error["code"], error["clientId"]) == ("payload_too_large", "big")
    assert stored_ids(world) == []


def test_a_late_joiner_gets_the_newest_page(world: World) -> None:
    """120 stored: the newest 50, oldest first, and more=true; then the 50 before them."""
    ids = store_directly(world, 120)
    world.join("late")
    world.invoke(history("late"))
    [page] = world.sender.frames("late")
    assert page["type"] == "history"
    assert page["room"] == "general"
    assert [m["id"] for m in page["messages"]] == ids[70:]
    assert page["more"] is True
    assert set(page["messages"][0]) == {"id", "from", "text", "sentAt", "rev", "changedAt"}
    world.invoke(history("late", before=ids[70]))
    older = world.sender.frames("late")[1]
    assert older["before"] == ids[70]
    assert [m["id"] for m in older["messages"]] == ids[20:70]
    assert older["more"] is True


def test_catch_up_pages_forward_until_no_more(world: World) -> None:
    """after= pages forward in id order; the last page says more=false."""
    ids = store_directly(world, 30)
    world.join("b")
    cursor, seen = ids[4], []
    while True:
        world.invoke(history("b", after=cursor.lower(), limit=10))  # ULIDs are case-insensitive
        page = world.sender.frames("b")[-1]
        assert page["after"] == cursor
        seen += [m["id"] for m in page["messages"]]
        if not page["more"]:
            break
        cursor = page["messages"][-1]["id"]
    assert seen == ids[5:]


def test_history_is_of_the_senders_own_room_only(world: World) -> None:
    """A room field in the frame is ignored; another room's messages never appear."""
    store_directly(world, 3, room="secret")
    world.join("a", room="general")
    world.invoke(history("a", room="secret"))
    [page] = world.sender.frames("a")
    assert (page["room"], page["messages"], page["more"]) == ("general", [], False)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"after": "not-a-ulid"}, "invalid_cursor"),
        ({"before": 12}, "invalid_cursor"),
        ({"after": "8" + "0" * 25}, "invalid_cursor"),  # beyond 128 bits
        ({"after": "0" * 26, "before": "0" * 26}, "invalid_field"),
        ({"limit": 0}, "invalid_field"),
        ({"limit": 101}, "invalid_field"),
        ({"limit": True}, "invalid_field"),
        ({"limit": 2.5}, "invalid_field"),
    ],
)
def test_bad_history_requests_get_error_frames(
    world: World, fields: dict[str, Any], code: str
) -> None:
    """Bad cursors and limits are answered with the documented code, to the sender alone."""
    world.join("a")
    world.join("b")
    world.invoke(history("a", **fields))
    [error] = world.sender.frames("a")
    assert (error["type"], error["code"]) == ("error", code)
    assert world.sender.frames("b") == []


def test_history_of_an_unknown_connection_is_not_connected(world: World) -> None:
    """Without a stored connection there is no room to read."""
    world.invoke(history("ghost"))
    [error] = world.sender.frames("ghost")
    assert error["code"] == "not_connected"


def test_the_worst_case_history_frame_stays_within_its_budget(world: World) -> None:
    """Every item at its largest (2,000 four-byte characters, or six-byte escapes): the page is
    cut by bytes, stays under the budget and the post limit, and says more."""
    for text in ("\U0001f600" * 2000, "\u0001" * 2000):
        world.sender.delivered.clear()
        room = f"r{len(text.encode())}"
        ids = store_directly(world, 100, room=room, text=text)
        world.join(f"reader-{room}", room=room)
        world.invoke(history(f"reader-{room}", limit=100))
        [data] = world.sender.delivered[f"reader-{room}"]
        assert len(data) <= HISTORY_FRAME_BUDGET < POST_LIMIT_BYTES
        page = json.loads(data)
        shown = [m["id"] for m in page["messages"]]
        assert 0 < len(shown) < 100
        assert shown == ids[-len(shown) :]  # the newest, contiguous
        assert page["more"] is True
        assert all(m["text"] == text for m in page["messages"])
