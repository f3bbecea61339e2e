"""frontend/js/protocol.js: history, join, presence and clientId frames, run in the browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ULID_A = "01JDQ7ZK3V8Y6W4T2R1P000001"
ULID_B = "01JDQ7ZK3V8Y6W4T2R1P000002"
SENT_AT = "2026-11-25T12:34:56.789Z"


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Run ``body`` with the protocol module as ``p`` and ``arg`` in scope."""
    return page.evaluate(
        f"""async (arg) => {{
          const p = await import("/js/protocol.js");
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
        "messages": [
            {"id": ULID_A, "from": "a", "text": "one", "sentAt": SENT_AT},
            {"id": ULID_B, "from": "b", "text": "two", "sentAt": SENT_AT},
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


def test_new_error_codes_have_their_own_words(page_at_site: Page) -> None:
    """not_stored says sending again is safe; invalid_cursor is not the generic fallback."""
    result = run(
        page_at_site,
        """
        return ["not_stored", "invalid_cursor", "no_such_code"]
          .map((code) => p.describeError(code, 2000));
        """,
    )
    assert "Sending it again is safe" in result[0]
    assert "history" in result[1]
    assert len(set(result)) == 3


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
