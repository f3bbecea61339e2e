"""frontend/js/wire.js (history, join, presence and clientId frames) and namekey.js, run in
the browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ULID_A = "01JDQ7ZK3V8Y6W4T2R1P000001"
ULID_B = "01JDQ7ZK3V8Y6W4T2R1P000002"
SENT_AT = "2026-11-25T12:34:56.789Z"


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Run ``body`` with the wire module as ``p`` and ``arg`` in scope."""
    return page.evaluate(
        f"""async (arg) => {{
          const p = await import("/js/wire.js");
          {body}
        }}""",
        arg,
    )


def test_frames_carry_the_client_id_and_history_cursors(page_at_site: Page) -> None:
    """sendmessage carries its clientId; history carries only the cursor and limit given."""
    result = run(
        page_at_site,
        """
        return [p.sendMessageFrame("hi", "c-1"), p.historyFrame({ limit: 50 }),
                p.historyFrame({ after: arg, limit: 50 }), p.historyFrame({ before: arg })]
               .map((frame) => JSON.parse(frame));
        """,
        ULID_A,
    )
    assert result == [
        {"action": "sendmessage", "text": "hi", "clientId": "c-1"},
        {"action": "history", "limit": 50},
        {"action": "history", "after": ULID_A, "limit": 50},
        {"action": "history", "before": ULID_A},
    ]


FIRST_STATE = {"rev": 1, "deleted": False, "reactions": []}


def test_a_history_frame_is_read_oldest_first_skipping_malformed_entries(
    page_at_site: Page,
) -> None:
    """Entries keep their order; one without a ULID id or with a non-string is dropped."""
    frame = {
        "type": "history",
        "room": "lobby",
        "after": ULID_A,
        "more": True,
        "messages": [
            {"id": ULID_A, "from": "a", "text": "one", "sentAt": SENT_AT},
            {"id": "not-a-ulid", "from": "a", "text": "x", "sentAt": SENT_AT},
            {"id": ULID_B, "from": "a", "text": 5, "sentAt": SENT_AT},
            None,
            {"id": ULID_B, "from": "b", "text": "two", "sentAt": SENT_AT},
        ],
    }
    result = run(
        page_at_site,
        """
        const page = p.parseServerFrame(JSON.stringify(arg));
        const messages = page.messages.map((m) => ({ ...m, sentAt: m.sentAt.toISOString() }));
        return { ...page, messages };
        """,
        frame,
    )
    assert result == {
        "type": "history",
        "room": "lobby",
        "after": ULID_A,
        "more": True,
        # Each as its state: a message of a server without revisions is its first.
        "messages": [
            {"id": ULID_A, "from": "a", "text": "one", "sentAt": SENT_AT, **FIRST_STATE},
            {"id": ULID_B, "from": "b", "text": "two", "sentAt": SENT_AT, **FIRST_STATE},
        ],
    }


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "history", "room": "lobby", "messages": "no", "more": False},
        {"type": "history", "room": "lobby", "messages": [], "more": "yes"},
        {"type": "history", "messages": [], "more": False},
    ],
)
def test_a_malformed_history_frame_is_ignored(page_at_site: Page, frame: dict[str, Any]) -> None:
    """A history frame without its room, messages list or more flag is not acted on."""
    result = run(page_at_site, "return p.parseServerFrame(JSON.stringify(arg)).type;", frame)
    assert result == "ignored"


def test_client_ids_are_read_from_messages_and_errors_when_well_formed(
    page_at_site: Page,
) -> None:
    """The own copy and an error keep a valid clientId; an invalid one is left out."""
    message = {"type": "message", "id": ULID_A, "room": "r", "from": "a", "text": "t"}
    result = run(
        page_at_site,
        """
        const read = (frame) => p.parseServerFrame(JSON.stringify(frame)).clientId ?? null;
        return [
          read({ ...arg, sentAt: "2026-11-25T12:34:56.789Z", clientId: "c_1-A" }),
          read({ ...arg, sentAt: "2026-11-25T12:34:56.789Z" }),
          read({ type: "error", code: "not_stored", message: "m", clientId: "c1" }),
          read({ type: "error", code: "not_stored", message: "m", clientId: "no spaces" }),
          read({ type: "error", code: "not_stored", message: "m", clientId: "x".repeat(65) }),
        ];
        """,
        message,
    )
    assert result == ["c_1-A", None, "c1", None, None]


def test_join_carries_the_history_fields_and_members_none(page_at_site: Page) -> None:
    """join takes exactly the cursor and limit given, like history; members is bare."""
    result = run(
        page_at_site,
        """
        return [p.joinFrame({ limit: 50 }), p.joinFrame({ after: arg, limit: 50 }),
                p.membersFrame()].map((frame) => JSON.parse(frame));
        """,
        ULID_A,
    )
    assert result == [
        {"action": "join", "limit": 50},
        {"action": "join", "after": ULID_A, "limit": 50},
        {"action": "members"},
    ]


def test_members_and_presence_frames_are_read(page_at_site: Page) -> None:
    """Members keep their order with since as a Date; a malformed entry is skipped and makes
    the list incomplete; presence is read with its event, name and count."""
    frames = [
        {
            "type": "members",
            "room": "lobby",
            "count": 3,
            "complete": True,
            "members": [
                {"name": "alice", "since": SENT_AT, "connections": 2},
                {"name": 5, "since": SENT_AT, "connections": 1},
                {"name": "bob", "since": "not a time", "connections": 0},
            ],
        },
        {"type": "presence", "event": "left", "room": "lobby", "name": "bob", "count": 1},
    ]
    result = run(
        page_at_site,
        """
        return arg.map((frame) => p.parseServerFrame(JSON.stringify(frame))).map((f) =>
          f.type === "members"
            ? { ...f, members: f.members.map(
                (m) => ({ ...m, since: m.since?.toISOString() ?? null })) }
            : f);
        """,
        frames,
    )
    assert result == [
        {
            "type": "members",
            "room": "lobby",
            "count": 3,
            "complete": False,
            "members": [
                {"name": "alice", "since": SENT_AT, "connections": 2},
                {"name": "bob", "since": None, "connections": 1},
            ],
        },
        {"type": "presence", "event": "left", "room": "lobby", "name": "bob", "count": 1},
    ]


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "members", "room": "lobby", "count": -1, "complete": True, "members": []},
        {"type": "members", "room": "lobby", "count": 1, "complete": "yes", "members": []},
        {"type": "members", "room": "lobby", "count": 1, "complete": True},
        {"type": "presence", "event": "waved", "room": "lobby", "name": "a", "count": 1},
        {"type": "presence", "event": "joined", "room": "lobby", "name": 5, "count": 1},
        {"type": "presence", "event": "joined", "room": "lobby", "name": "a", "count": 1.5},
    ],
)
def test_a_malformed_members_or_presence_frame_is_ignored(
    page_at_site: Page, frame: dict[str, Any]
) -> None:
    """A frame missing or mistyping a field is ignored, never half-read."""
    result = run(page_at_site, "return p.parseServerFrame(JSON.stringify(arg)).type;", frame)
    assert result == "ignored"


def test_the_connect_url_carries_name_room_and_key(page_at_site: Page) -> None:
    """connectUrl sends the trimmed name, the room and the key as query parameters."""
    result = run(
        page_at_site,
        """
        const url = new URL(p.connectUrl("ws://127.0.0.1:1/local", " ann ", "r1", "k".repeat(43)));
        return Object.fromEntries(url.searchParams);
        """,
    )
    assert result == {"name": "ann", "room": "r1", "key": "k" * 43}


def test_a_rate_limited_error_says_when_to_retry(page_at_site: Page) -> None:
    """rate_limited keeps retryAfterMs and its clientId; without a usable delay it waits the
    fallback second."""
    frames = [
        {"type": "error", "code": "rate_limited", "retryAfterMs": 1200, "clientId": "c1"},
        {"type": "error", "code": "rate_limited", "retryAfterMs": "soon"},
    ]
    result = run(
        page_at_site,
        """
        return arg.map((frame) => p.parseServerFrame(JSON.stringify(frame)));
        """,
        frames,
    )
    assert result == [
        {"type": "error", "code": "rate_limited", "retryAfterMs": 1200, "clientId": "c1"},
        {"type": "error", "code": "rate_limited", "retryAfterMs": 1000},
    ]


def test_the_name_key_is_derived_per_room_from_a_kept_secret(page_at_site: Page) -> None:
    """The secret is created once and kept; the key is 43 characters of base64url, the same
    for a room every time, another for another room, and never the secret itself."""
    result = page_at_site.evaluate(
        """async () => {
          const k = await import("/js/namekey.js");
          const secret = k.nameSecret();
          return { secret, again: k.nameSecret(),
                   keys: [await k.nameKey(secret, "a"), await k.nameKey(secret, "a"),
                          await k.nameKey(secret, "b")] };
        }"""
    )
    secret, keys = result["secret"], result["keys"]
    assert result["again"] == secret
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", key) for key in keys)
    assert keys[0] == keys[1] != keys[2]
    assert secret not in keys
