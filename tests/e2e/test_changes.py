"""End to end: edit, delete, reactions, typing and the catch-up of every change,
with real WebSocket clients on the local stack, the real handler and moto DynamoDB."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from local_stack.emulator.lambda_runtime import BACKEND_DIR, FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from scripts.build_lambda import SHARED_PACKAGES
from tests.e2e.test_chat import frame, join, room, say, silent
from tests.e2e.test_history import drop_without_close
from tests.local_stack.support import ws_connect

SLOW_TEXT: Final = "slow-write"
SLOW_WRITE_S: Final = 3.0
# A handler module beside the chat package (a copy of the zip's root): it wraps botocore's
# client so that the DynamoDB write of a message whose text holds SLOW_TEXT sleeps first, as a
# throttled and retried write does after its id and changedAt were stamped.
DELAYING_HANDLER: Final = f"""
import time

import botocore.client

from chat.handler import handler as chat_handler

_call = botocore.client.BaseClient._make_api_call


def _delayed(self, operation, params):
    if operation in ("PutItem", "TransactWriteItems") and {SLOW_TEXT!r} in repr(params):
        time.sleep({SLOW_WRITE_S})
    return _call(self, operation, params)


botocore.client.BaseClient._make_api_call = _delayed


def handler(event, context):
    return chat_handler(event, context)
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The chat as `make dev` runs it (rate limits lifted: these tests send in bursts), whose
    function delays the write of any message saying SLOW_TEXT."""
    code = tmp_path_factory.mktemp("code")
    for package in ("chat", *SHARED_PACKAGES):  # what the chat's zip holds
        (code / package).symlink_to(BACKEND_DIR / package, target_is_directory=True)
    (code / "delaying.py").write_text(DELAYING_HANDLER)
    function = FunctionSettings(
        handler="delaying.handler", code_dir=Path(code), environment=LIFTED_RATE_LIMITS
    )
    with running_stack(StackOptions(site_dir=None, function=function)) as running:
        yield running


class Reader:
    """A client's view of the room as the page keeps it: each message's newest state by rev,
    and the catch-up cursor (the greatest readAt and changedAt it applied)."""

    def __init__(self) -> None:
        self.shown: dict[str, dict[str, Any]] = {}
        self.cursor = 0
        self.applied: list[tuple[str, int]] = []

    def apply(self, got: dict[str, Any]) -> None:
        """Apply a message, history or changes frame."""
        if got["type"] == "message":
            self._entry(got)
            self.cursor = max(self.cursor, got["changedAt"])
        elif got["type"] in {"history", "changes"}:
            for entry in got["messages"]:
                self._entry(entry)
            self.cursor = max(self.cursor, got["readAt"])

    def _entry(self, entry: dict[str, Any]) -> None:
        known = self.shown.get(entry["id"])
        if known is None or entry["rev"] > known["rev"]:
            self.shown[entry["id"]] = entry
            self.applied.append((entry["id"], entry["rev"]))


async def reply(ws: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame that is neither a presence nor a typing notice."""
    while (got := await frame(ws, timeout_s))["type"] in {"presence", "typing"}:
        pass
    return got


async def send(ws: ClientConnection, **fields: Any) -> None:
    """Send one frame of ``fields``."""
    await ws.send(json.dumps(fields))


async def sent_id(ws: ClientConnection, text: str) -> str:
    """Say ``text``; the id of the sender's own copy."""
    await say(ws, text)
    got = await reply(ws)
    assert got["type"] == "message", got
    message_id: str = got["id"]
    return message_id


async def catch_up(ws: ClientConnection, reader: Reader, limit: int = 50) -> int:
    """What the page does after a reconnect: join with since, then changes while more; the
    number of pages read."""
    await send(ws, action="join", since=reader.cursor, limit=limit)
    members = await reply(ws)
    assert members["type"] == "members", members
    pages = 0
    while True:
        page = await reply(ws)
        assert page["type"] == "changes", page
        reader.apply(page)
        pages += 1
        if not page["more"]:
            return pages
        await send(ws, action="changes", cursor=page["cursor"], limit=limit)


def item(stack: Stack, room_name: str, message_id: str) -> dict[str, Any]:
    """The message's item as the table holds it (a test may read the table)."""
    found: dict[str, Any] = stack.dynamodb().get_item(
        TableName=stack.messages_table_name,
        Key={"room": {"S": room_name}, "id": {"S": message_id}},
        ConsistentRead=True,
    )["Item"]
    return found


def test_an_edit_reaches_the_room_and_only_the_owner_may_edit(stack: Stack) -> None:
    """alice edits: bob sees the new text (rev 2, editedAt); bob's edit of it is refused
    not_yours with the id; alice's second device (same key) may edit it."""
    lobby = room()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with (
            join(stack, "alice", lobby) as alice,
            join(stack, "alice", lobby) as phone,
            join(stack, "bob", lobby) as bob,
        ):
            mid = await sent_id(alice, "helo")
            await reply(bob)
            await reply(phone)
            await send(alice, action="editmessage", id=mid, text="hello")
            edited = await reply(bob)
            assert (await reply(alice))["rev"] == 2
            await reply(phone)
            await send(bob, action="editmessage", id=mid, text="pwned")
            refused = await reply(bob)
            assert await silent(alice, 0.3)
            await send(phone, action="editmessage", id=mid, text="hello!")
            from_phone = await reply(bob)
            return edited, refused, from_phone

    edited, refused, from_phone = asyncio.run(scenario())
    assert (edited["text"], edited["rev"]) == ("hello", 2)
    assert edited["editedAt"].endswith("Z")
    assert (refused["type"], refused["code"], refused["id"]) == ("error", "not_yours", edited["id"])
    assert (from_phone["text"], from_phone["rev"]) == ("hello!", 3)


def test_a_delete_removes_the_text_from_the_table(stack: Stack) -> None:
    """The room gets a tombstone; the item holds no text and no reaction any more."""
    lobby = room()

    async def scenario() -> tuple[str, dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice, join(stack, "bob", lobby) as bob:
            mid = await sent_id(alice, "my secret")
            await reply(bob)
            await send(bob, action="react", id=mid, emoji="😮")
            await reply(alice)
            await reply(bob)
            await send(alice, action="deletemessage", id=mid)
            tombstone = await reply(bob)
            return mid, tombstone

    mid, tombstone = asyncio.run(scenario())
    assert tombstone["deleted"] is True
    assert "text" not in tombstone
    assert "reactions" not in tombstone
    stored = item(stack, lobby, mid)
    assert "text" not in stored
    assert "my secret" not in json.dumps(stored, ensure_ascii=False)
    assert not [name for name in stored if name.startswith(("r:", "o:", "p:"))]


def test_reactions_toggle_and_count(stack: Stack) -> None:
    """Two people 👍, one takes it back: counts 1, 2, 1 with who toggled which way, and the
    reader's own reactions marked mine in its history."""
    lobby = room()

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice, join(stack, "bob", lobby) as bob:
            mid = await sent_id(alice, "lunch?")
            await reply(bob)
            seen = []
            for ws in (alice, bob, alice):
                await send(ws, action="react", id=mid, emoji="👍")
                seen.append(await reply(bob))
                await reply(alice)
            await send(bob, action="history")
            page = await reply(bob)
            return seen, page

    seen, page = asyncio.run(scenario())
    assert [(f["reactions"][0]["count"], f["reacted"]) for f in seen] == [
        (1, {"name": "alice", "emoji": "👍", "on": True}),
        (2, {"name": "bob", "emoji": "👍", "on": True}),
        (1, {"name": "alice", "emoji": "👍", "on": False}),
    ]
    assert page["messages"][-1]["reactions"] == [{"emoji": "👍", "count": 1, "mine": True}]


def test_typing_reaches_others_not_the_typer(stack: Stack) -> None:
    """alice types on her laptop: bob is told; neither of alice's sockets is."""
    lobby = room()

    async def scenario() -> tuple[dict[str, Any], bool, bool]:
        async with (
            join(stack, "alice", lobby) as alice,
            join(stack, "alice", lobby) as phone,
            join(stack, "bob", lobby) as bob,
        ):
            await send(bob, action="ping")
            while (await frame(bob))["type"] != "pong":
                pass
            await send(alice, action="typing")
            while (notice := await frame(bob))["type"] != "typing":
                pass
            quiet_alice = await _no_typing(alice)
            quiet_phone = await _no_typing(phone)
            return notice, quiet_alice, quiet_phone

    notice, quiet_alice, quiet_phone = asyncio.run(scenario())
    assert notice == {"type": "typing", "room": lobby, "name": "alice"}
    assert quiet_alice and quiet_phone


async def _no_typing(ws: ClientConnection, seconds: float = 0.5) -> bool:
    """Whether no typing frame arrives on ``ws`` for ``seconds`` (presence may)."""
    try:
        while True:
            if (await frame(ws, seconds))["type"] == "typing":
                return False
    except TimeoutError:
        return True


def test_catch_up_after_a_disconnect_applies_each_change_once(stack: Stack) -> None:
    """bob's socket drops; alice edits one message, deletes another and sends a new one; bob
    reconnects with join since and gets all three, each once, by rev."""
    lobby = room()

    async def scenario() -> tuple[Reader, list[str], str]:
        bob_view = Reader()
        async with join(stack, "alice", lobby) as alice:
            async with join(stack, "bob", lobby) as bob:
                await send(bob, action="join")
                await reply(bob)
                bob_view.apply(await reply(bob))
                first = await sent_id(alice, "first")
                second = await sent_id(alice, "second")
                bob_view.apply(await reply(bob))
                bob_view.apply(await reply(bob))
                drop_without_close(bob)
            await send(alice, action="editmessage", id=first, text="first, fixed")
            await reply(alice)
            await send(alice, action="deletemessage", id=second)
            await reply(alice)
            third = await sent_id(alice, "third")
            async with join(stack, "bob", lobby) as bob_again:
                bob_view.applied.clear()
                await catch_up(bob_again, bob_view)
        return bob_view, [first, second], third

    view, (first, second), third = asyncio.run(scenario())
    assert view.applied == [(first, 2), (second, 2), (third, 1)]
    assert view.shown[first]["text"] == "first, fixed"
    assert view.shown[second]["deleted"] is True


def test_more_than_one_page_of_changes_is_paged_with_the_cursor(stack: Stack) -> None:
    """60 messages sent while away, 10 of them then edited: a page of 50 and one of 10 through
    the cursor, every message once at its last rev."""
    lobby = room()

    async def scenario() -> tuple[Reader, list[str], int]:
        view = Reader()
        async with join(stack, "alice", lobby) as alice:
            async with join(stack, "bob", lobby) as bob:
                await send(bob, action="join")
                await reply(bob)
                view.apply(await reply(bob))
            ids = [await sent_id(alice, f"m{n}") for n in range(60)]
            for mid in ids[:10]:
                await send(alice, action="editmessage", id=mid, text="edited")
                await reply(alice)
            async with join(stack, "bob", lobby) as bob_again:
                pages = await catch_up(bob_again, view)
        return view, ids, pages

    view, ids, pages = asyncio.run(scenario())
    assert pages == 2
    assert sorted(view.shown) == sorted(ids)
    assert [view.shown[mid]["rev"] for mid in ids] == [2] * 10 + [1] * 50
    assert len(view.applied) == 60


def test_a_delayed_write_is_still_caught_up(stack: Stack) -> None:
    """alice's message is stamped first but stored 3 s late; carol's later one is stored and
    seen at once, so bob's cursor passes the delayed message's changedAt. bob drops before
    the delayed write lands, reconnects, and his catch-up still brings it (the overlap)."""
    lobby = room()

    async def scenario() -> tuple[Reader, str, str]:
        view = Reader()
        async with join(stack, "alice", lobby) as alice, join(stack, "carol", lobby) as carol:
            async with join(stack, "bob", lobby) as bob:
                await send(bob, action="join")
                await reply(bob)
                view.apply(await reply(bob))
                await say(alice, SLOW_TEXT)  # its write sleeps SLOW_WRITE_S
                await asyncio.sleep(0.5)
                fast = await sent_id(carol, "fast")
                got = await reply(bob)
                assert got["id"] == fast, got
                view.apply(got)
                drop_without_close(bob)
            while (slow := await reply(alice, timeout_s=SLOW_WRITE_S + 5))["id"] == fast:
                pass  # alice heard carol's message first: hers was stored later
            assert slow["text"] == SLOW_TEXT
            assert (slow["id"], slow["changedAt"]) < (fast, view.cursor)
            async with join(stack, "bob", lobby) as bob_again:
                view.applied.clear()
                await catch_up(bob_again, view)
        return view, slow["id"], fast

    view, slow, fast = asyncio.run(scenario())
    assert fast in view.shown
    assert slow in view.shown
    assert view.applied == [(slow, 1)]


def test_the_name_taken_later_with_another_key_cannot_edit(stack: Stack) -> None:
    """alice leaves; someone takes the name alice with another key: her messages are not
    theirs (not_yours), and nothing changes."""
    lobby = room()

    async def scenario() -> tuple[str, dict[str, Any]]:
        async with join(stack, "alice", lobby) as alice:
            mid = await sent_id(alice, "mine")
        other_key = "o" * 43
        url = f"{stack.ws_url}?name=alice&room={lobby}&key={other_key}"
        for _ in range(50):  # the name is free once alice's $disconnect released it
            try:
                async with ws_connect(url) as imposter:
                    await send(imposter, action="editmessage", id=mid, text="not mine")
                    return mid, await reply(imposter)
            except InvalidStatus:
                await asyncio.sleep(0.1)
        raise AssertionError("the name alice was never released")

    mid, refused = asyncio.run(scenario())
    assert (refused["code"], refused["id"]) == ("not_yours", mid)
    assert item(stack, lobby, mid)["text"] == {"S": "mine"}
