"""Message changes through the handler: edit, delete, react, typing, changes, join since."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.config import Settings
from chat.frames import changes_frame, stored_message_frame
from chat.ids import UlidGenerator
from chat.protocol import Changes, EditMessage, React, parse_frame
from chat.stored import ChangesCursor, Reaction, StoredMessage

from tests.backend.conftest import MESSAGES_TABLE
from tests.backend.test_handler import NOW_MS, World, disconnect_event, message_event, send


def action(cid: str, name: str, **fields: Any) -> dict[str, Any]:
    """A message event for ``cid`` on the route ``name`` with a JSON body of ``fields``."""
    return message_event(cid, json.dumps({"action": name, **fields}), route=name)


def last(world: World, cid: str) -> dict[str, Any]:
    """The last frame ``cid`` received."""
    return world.sender.frames(cid)[-1]


def sent(world: World, cid: str, text: str = "hello") -> str:
    """Send ``text`` from ``cid``; the id it became."""
    world.invoke(send(cid, text))
    frame = last(world, cid)
    assert frame["type"] == "message", frame
    message_id: str = frame["id"]
    return message_id


def stored_item(world: World, message_id: str) -> dict[str, Any]:
    """The raw message item."""
    item: dict[str, Any] = world.dynamodb.get_item(
        TableName=MESSAGES_TABLE, Key={"room": {"S": "general"}, "id": {"S": message_id}}
    )["Item"]
    return item


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A fresh world for one test, whose ids follow its clock."""
    world = World(dynamodb)
    world.ids = UlidGenerator(clock_ms=lambda: world.clock_ms)
    return world


@pytest.fixture
def room(world: World) -> World:
    """alice on two devices (same key), bob, and carol in another room."""
    world.join("a1", name="alice")
    world.join("a2", name="alice")
    world.join("b", name="bob")
    world.join("c", room="elsewhere", name="carol")
    return world


def test_an_edit_reaches_the_room_with_its_new_state(room: World) -> None:
    """Every connection of the room gets the same new state (rev 2, editedAt); not others."""
    mid = sent(room, "a1")
    room.clock_ms = NOW_MS + 5_000
    assert room.invoke(action("a1", "editmessage", id=mid, text="  fixed  ")) == {"statusCode": 200}
    frames = [last(room, cid) for cid in ("a1", "a2", "b")]
    assert all(frame == frames[0] for frame in frames)
    assert frames[0]["text"] == "fixed"
    assert (frames[0]["rev"], frames[0]["changedAt"]) == (2, NOW_MS + 5_000)
    assert frames[0]["editedAt"].endswith("Z")
    assert room.sender.frames("c") == []


def test_another_name_is_refused_not_yours_with_the_id(room: World) -> None:
    """bob cannot edit or delete alice's message: an error to bob alone, naming the id."""
    mid = sent(room, "a1")
    before = len(room.sender.all_frames())
    room.invoke(action("b", "editmessage", id=mid, text="mine"))
    room.invoke(action("b", "deletemessage", id=mid))
    errors = room.sender.frames("b")[-2:]
    assert [(e["type"], e["code"], e["id"]) for e in errors] == [("error", "not_yours", mid)] * 2
    assert len(room.sender.all_frames()) == before + 2
    assert stored_item(room, mid)["text"] == {"S": "hello"}


def test_the_same_name_with_another_key_is_not_the_owner(world: World) -> None:
    """Whoever takes the name later with another key cannot touch the earlier messages."""
    world.join("a1", name="alice", key="k" * 43)
    mid = sent(world, "a1")
    world.invoke(disconnect_event("a1"))
    world.join("a3", name="alice", key="z" * 43)
    world.invoke(action("a3", "editmessage", id=mid, text="x"))
    assert last(world, "a3")["code"] == "not_yours"


def test_the_owners_other_device_may_edit(room: World) -> None:
    """alice's second connection (same key) edits what her first sent."""
    mid = sent(room, "a1")
    room.invoke(action("a2", "editmessage", id=mid, text="from my phone"))
    assert last(room, "b")["text"] == "from my phone"


def test_delete_sends_a_tombstone_and_removes_the_text(room: World) -> None:
    """The room gets deleted=true without text; the item holds no text; deleting again answers
    the tombstone to the sender alone."""
    mid = sent(room, "a1", "oops, my password")
    room.invoke(action("a1", "deletemessage", id=mid))
    tombstone = last(room, "b")
    assert tombstone["deleted"] is True
    assert "text" not in tombstone
    assert tombstone["rev"] == 2
    assert "text" not in stored_item(room, mid)
    count_b = len(room.sender.frames("b"))
    room.invoke(action("a1", "deletemessage", id=mid))
    assert last(room, "a1") == tombstone
    assert len(room.sender.frames("b")) == count_b


def test_a_reaction_reaches_the_room_with_who_and_which_way(room: World) -> None:
    """bob's 👍 on alice's message: counts, reacted {name, emoji, on}; again: off."""
    mid = sent(room, "a1")
    room.invoke(action("b", "react", id=mid, emoji="👍"))
    frame = last(room, "a2")
    assert frame["reactions"] == [{"emoji": "👍", "count": 1}]
    assert frame["reacted"] == {"name": "bob", "emoji": "👍", "on": True}
    room.invoke(action("b", "react", id=mid, emoji="👍"))
    frame = last(room, "a1")
    assert "reactions" not in frame
    assert frame["reacted"]["on"] is False
    assert frame["rev"] == 3


def test_a_bad_emoji_is_refused(room: World) -> None:
    """Text, two emoji, or nothing: invalid_emoji with the id; nothing stored or sent."""
    mid = sent(room, "a1")
    for emoji in ("lol", "👍👍", None, "<img>"):
        room.invoke(action("b", "react", id=mid, emoji=emoji))
        error = last(room, "b")
        assert (error["code"], error["id"]) == ("invalid_emoji", mid)
    assert not any(name.startswith("r:") for name in stored_item(room, mid))


def test_history_marks_the_readers_own_reactions(room: World) -> None:
    """A history page says mine for the reader's reactions only, and carries readAt."""
    mid = sent(room, "a1")
    room.invoke(action("a2", "react", id=mid, emoji="🎉"))
    room.invoke(message_event("a1", json.dumps({"action": "history"}), route="history"))
    room.invoke(message_event("b", json.dumps({"action": "history"}), route="history"))
    mine, theirs = last(room, "a1"), last(room, "b")
    assert mine["messages"][0]["reactions"] == [{"emoji": "🎉", "count": 1, "mine": True}]
    assert theirs["messages"][0]["reactions"] == [{"emoji": "🎉", "count": 1}]
    assert mine["readAt"] == NOW_MS


def test_typing_reaches_other_names_only(room: World) -> None:
    """alice types: bob is told, neither of alice's connections, nor another room."""
    before = {cid: len(room.sender.frames(cid)) for cid in ("a1", "a2", "b", "c")}
    room.invoke(action("a1", "typing"))
    assert last(room, "b") == {"type": "typing", "room": "general", "name": "alice"}
    after = {cid: len(room.sender.frames(cid)) for cid in ("a1", "a2", "b", "c")}
    assert after == {**before, "b": before["b"] + 1}


def test_typing_is_silent_in_a_big_room_and_stores_nothing(room: World) -> None:
    """Above TYPING_NOTICE_MAX_MEMBERS connections nothing is sent; no message is stored."""
    room.settings = replace(room.settings, typing_notice_max_members=2)
    count = len(room.sender.all_frames())
    room.invoke(action("a1", "typing"))
    assert len(room.sender.all_frames()) == count
    assert room.dynamodb.scan(TableName=MESSAGES_TABLE)["Items"] == []


def test_typing_has_its_own_budget(room: World) -> None:
    """Five back to back pass, the sixth is rate_limited; a message still goes out."""
    for _ in range(5):
        room.invoke(action("a1", "typing"))
    room.invoke(action("a1", "typing"))
    assert last(room, "a1")["code"] == "rate_limited"
    assert sent(room, "a1")


def test_changes_and_join_since_catch_up(room: World) -> None:
    """After an edit and a delete, join since answers members then a changes page with both
    changes and the new message, each once, with readAt."""
    first, second = sent(room, "a1", "one"), sent(room, "a1", "two")
    room.clock_ms = NOW_MS + 120_000
    cursor = NOW_MS + 120_000
    room.invoke(action("a1", "editmessage", id=first, text="one!"))
    room.invoke(action("a1", "deletemessage", id=second))
    third = sent(room, "b", "three")
    room.invoke(action("b", "join", since=cursor - 1))
    members, page = room.sender.frames("b")[-2:]
    assert members["type"] == "members"
    assert page["type"] == "changes"
    assert page["since"] == cursor - 1
    assert [(m["id"], m["rev"]) for m in page["messages"]] == [(first, 2), (second, 2), (third, 1)]
    assert page["more"] is False
    assert "cursor" not in page


def test_changes_page_with_a_cursor(room: World) -> None:
    """limit 2 over 5 changes: more with a cursor, then the rest, each once."""
    ids = [sent(room, "a1", f"m{n}") for n in range(5)]
    seen: list[str] = []
    body: dict[str, Any] = {"since": 0, "limit": 2}
    for _ in range(5):
        room.invoke(action("b", "changes", **body))
        page = last(room, "b")
        seen += [m["id"] for m in page["messages"]]
        if not page["more"]:
            break
        body = {"cursor": page["cursor"], "limit": 2}
    assert seen == ids


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, "invalid_field"),
        ({"since": 1, "cursor": "x"}, "invalid_field"),
        ({"since": -1}, "invalid_field"),
        ({"since": True}, "invalid_field"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": 5}, "invalid_cursor"),
        ({"since": 0, "limit": 101}, "invalid_field"),
    ],
)
def test_bad_changes_frames_are_refused(room: World, fields: dict[str, Any], code: str) -> None:
    """Each malformed changes frame answers its error to the sender alone."""
    room.invoke(action("b", "changes", **fields))
    assert last(room, "b")["code"] == code


def test_a_throttled_change_answers_not_stored(room: World) -> None:
    """A throttled UpdateItem: not_stored with the id, nobody else hears of it."""
    mid = sent(room, "a1")

    class Throttled:
        def __init__(self, client: Any) -> None:
            self._client = client

        def __getattr__(self, name: str) -> Any:
            if name == "update_item":
                from botocore.exceptions import ClientError  # noqa: PLC0415

                def refuse(**request: Any) -> Any:
                    if request["TableName"] != MESSAGES_TABLE:
                        return self._client.update_item(**request)
                    raise ClientError(
                        {"Error": {"Code": "ProvisionedThroughputExceededException"}}, name
                    )

                return refuse
            return getattr(self._client, name)

    count_b = len(room.sender.frames("b"))
    original = room.dynamodb
    room.dynamodb = Throttled(original)
    try:
        room.invoke(action("a1", "editmessage", id=mid, text="x"))
    finally:
        room.dynamodb = original
    error = last(room, "a1")
    assert (error["code"], error["id"]) == ("not_stored", mid)
    assert "Throughput" not in error["message"]
    assert len(room.sender.frames("b")) == count_b


def test_parse_frames_of_the_new_actions() -> None:
    """ids are upper-cased ULIDs; text trimmed; emoji kept; a bad id is invalid_field."""
    mid = "01jdq7zk3v8y6w4t2r1p0n9m8k"
    body = json.dumps({"action": "editmessage", "id": mid, "text": " hi "})
    assert parse_frame(body, max_chars=10) == EditMessage(mid.upper(), "hi")
    body = json.dumps({"action": "react", "id": mid, "emoji": "👍🏽"})
    assert parse_frame(body, max_chars=10) == React(mid.upper(), "👍🏽")
    cursor = ChangesCursor(5, mid.upper())
    body = json.dumps({"action": "changes", "cursor": cursor.encode()})
    assert parse_frame(body, max_chars=10) == Changes(cursor=cursor)
    assert ChangesCursor.decode(cursor.encode() + "A") is None


def test_frames_carry_the_state() -> None:
    """A tombstone has no text or reactions; a changes frame cut by its budget says more with
    the cursor of its last entry."""
    message = StoredMessage(
        "01JDQ7ZK3V8Y6W4T2R1P0N9M8K",
        "lobby",
        "a",
        "secret",
        1,
        9,
        rev=3,
        changed_at_ms=7,
        deleted=True,
        reactions=(Reaction("👍", frozenset({"x"})),),
    )
    frame = json.loads(stored_message_frame(message))
    assert (frame["deleted"], "text" in frame, "reactions" in frame) == (True, False, False)
    big = replace(message, deleted=False, text="x" * 600)
    others = [replace(big, message_id=f"01JDQ7ZK3V8Y6W4T2R1P0N9M8{c}") for c in "ABC"]
    page = json.loads(
        changes_frame("lobby", others, more=False, since=0, read_at_ms=1, reader=None, budget=1400)
    )
    assert len(page["messages"]) == 1
    assert page["more"] is True
    assert ChangesCursor.decode(page["cursor"]) == ChangesCursor(7, others[0].message_id)


def test_settings_read_the_new_variables() -> None:
    """TYPING_NOTICE_MAX_MEMBERS and the reaction caps are read and bounded."""
    base = {"TABLE_NAME": "t", "MESSAGES_TABLE_NAME": "m"}
    settings = Settings.from_env(
        base | {"TYPING_NOTICE_MAX_MEMBERS": "0", "REACTIONS_MAX_TOTAL": "100"}
    )
    assert (settings.typing_notice_max_members, settings.reactions_max_total) == (0, 100)
    with pytest.raises(Exception, match="REACTIONS_MAX_TOTAL"):
        Settings.from_env(base | {"REACTIONS_MAX_TOTAL": "2001"})


def test_changes_to_messages_spend_the_message_budget(room: World) -> None:
    """Edits and reactions are charged like messages: past the burst, rate_limited (with the
    id), and nothing changes."""
    room.settings = replace(room.settings, rate_limit_message_burst=2)
    mid = sent(room, "a1")
    room.invoke(action("a1", "react", id=mid, emoji="👍"))
    room.invoke(action("a1", "editmessage", id=mid, text="too fast"))
    error = last(room, "a1")
    assert (error["code"], error["id"]) == ("rate_limited", mid)
    assert stored_item(room, mid)["text"] == {"S": "hello"}


def test_a_failed_changes_read_is_an_internal_error_without_details(room: World) -> None:
    """A throttled Query of the index: the sender gets internal_error (retry), no AWS text."""
    original = room.dynamodb

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            method = getattr(original, name)
            if name != "query":
                return method

            def query(**request: Any) -> Any:
                if request.get("IndexName") != "changes-index":
                    return method(**request)
                from botocore.exceptions import ClientError  # noqa: PLC0415

                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, name)

            return query

    room.dynamodb = Throttled()
    try:
        assert room.invoke(action("b", "changes", since=0)) == {"statusCode": 500}
    finally:
        room.dynamodb = original
    error = last(room, "b")
    assert error["code"] == "internal_error"
    assert "Throttling" not in json.dumps(error)


def test_a_change_is_stamped_after_the_budgets_writes(room: World) -> None:
    """changedAt is read just before the message's write, not when the invocation began: slow
    budget writes (each advancing the clock 10 s here) do not make the stamp older than the
    write."""
    mid = sent(room, "a1")
    world = room

    class SlowBudgets:
        def __init__(self, store: Any) -> None:
            self._store = store

        def __getattr__(self, name: str) -> Any:
            method = getattr(self._store, name)
            if name not in {"admit", "admit_shared"}:
                return method

            def slow(*args: Any) -> Any:
                world.clock_ms += 10_000
                return method(*args)

            return slow

    room.store_wrapper = SlowBudgets
    began = room.clock_ms
    room.invoke(action("a1", "editmessage", id=mid, text="late"))
    edited = last(room, "b")
    assert edited["changedAt"] == began + 30_000  # source, connection and room budgets
