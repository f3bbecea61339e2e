"""The chat page shows who is in the room, who came and who left; it renews its socket quietly."""

from __future__ import annotations

import pytest
from playwright.sync_api import ViewportSize

from local_stack.stack import Stack
from tests.browser.conftest import (
    DESKTOP,
    FAST_TIMINGS,
    PHONE,
    SCREENSHOTS,
    ChatPage,
    OpenChat,
    drop_connection,
)

pytestmark = pytest.mark.browser

PHONE_SIZE: ViewportSize = {"width": PHONE["width"], "height": PHONE["height"]}
# A "left" line waits this long for the name to come back (presence.js QUIET_REJOIN_MS).
QUIET_REJOIN_MS = 5000
# Longer than the quiet time, with slack for a loaded machine.
AFTER_QUIET_MS = QUIET_REJOIN_MS + 2000


def member_names(chat: ChatPage) -> list[str]:
    """The names in the page's member list, top to bottom."""
    names: list[str] = chat.page.eval_on_selector_all(
        "#members-list .member__name", "(nodes) => nodes.map((node) => node.textContent)"
    )
    return names


def member_count(chat: ChatPage) -> str:
    """The count shown in the header."""
    return chat.page.text_content("#member-count") or ""


def wait_for_members(chat: ChatPage, names: list[str], timeout_ms: float = 5000) -> None:
    """Wait until the list holds exactly ``names`` (in any order) and the count says so."""
    chat.page.wait_for_function(
        """(names) => {
          const shown = [...document.querySelectorAll("#members-list .member__name")]
            .map((node) => node.textContent).sort();
          return JSON.stringify(shown) === JSON.stringify([...names].sort())
            && document.getElementById("member-count").textContent === String(names.length);
        }""",
        arg=names,
        timeout=timeout_ms,
    )


def presence_lines(chat: ChatPage) -> list[str]:
    """The join and leave lines in the page's log, top to bottom."""
    lines: list[str] = chat.page.eval_on_selector_all(
        "#messages .notice--presence", "(nodes) => nodes.map((node) => node.textContent)"
    )
    return lines


def sockets_to(chat: ChatPage) -> list[int]:
    """The readyState of every socket the page opened to its room, oldest first."""
    states: list[int] = chat.page.evaluate(
        """(room) => window.__sockets
             .filter((s) => new URL(s.url).searchParams.get("room") === room)
             .map((s) => s.readyState)""",
        chat.room,
    )
    return states


def test_two_pages_see_each_other_and_one_sees_the_other_leave(
    open_chat: OpenChat, room: str
) -> None:
    """Both lists and counts show both names; bob closes: alice's list, count and log say so."""
    alice = open_chat("alice", room)
    wait_for_members(alice, ["alice"])
    bob = open_chat("bob", room)

    wait_for_members(alice, ["alice", "bob"])
    wait_for_members(bob, ["alice", "bob"])
    alice.wait_for_notice("bob joined")
    assert presence_lines(alice) == ["bob joined"]
    assert presence_lines(bob) == []
    for chat in (alice, bob):
        own = chat.page.locator("#members-list .member", has_text="(you)")
        assert own.locator(".member__name").all_text_contents() == [chat.name]
    since = own.locator("time.member__since")
    assert (since.text_content() or "").startswith("since ")
    assert since.get_attribute("datetime")

    bob.page.close()
    # The list and the count change at once; the line waits for the quiet time.
    wait_for_members(alice, ["alice"])
    assert member_count(alice) == "1"
    alice.wait_for_notice("bob left", timeout_ms=QUIET_REJOIN_MS + 3000)
    assert presence_lines(alice) == ["bob joined", "bob left"]
    assert alice.page.get_attribute("#messages", "aria-live") == "polite"


def test_make_before_break_replaces_the_socket_without_a_line_and_chat_goes_on(
    open_chat: OpenChat, room: str
) -> None:
    """A page renewing its socket every 2 s makes no joined/left line; messages flow once each.

    Bob is there first: a join that lands while alice's page is between two sockets is a race
    of its own (under load, bob's open could take longer than alice's first 2 s)."""
    bob = open_chat("bob", room)
    alice = open_chat("alice", room, params={**FAST_TIMINGS, "renew_after_ms": "2000"})
    wait_for_members(bob, ["alice", "bob"])

    # Two renewals: three sockets to the room, only the newest still open.
    alice.page.wait_for_function(
        """(room) => window.__sockets
             .filter((s) => new URL(s.url).searchParams.get("room") === room).length >= 3""",
        arg=room,
        timeout=10000,
    )
    alice.send("from alice across renewals")
    bob.wait_for_message("from alice across renewals")
    bob.send("from bob across renewals")
    alice.wait_for_message("from bob across renewals")
    alice.wait_for_message("from alice across renewals")
    bob.page.wait_for_timeout(AFTER_QUIET_MS)

    assert presence_lines(bob) == ["alice joined"]  # once, whatever her renewals
    assert presence_lines(alice) == []
    wait_for_members(bob, ["alice", "bob"])
    assert alice.page.get_attribute("#status", "data-state") == "open"
    states = sockets_to(alice)
    assert len(states) >= 4
    # Old sockets are closed (3) or closing (2); the current one, maybe a successor, open (1).
    assert all(state >= 2 for state in states[:-2]), states
    assert alice.messages_with_text("from bob across renewals") == [{"from": "bob", "own": False}]
    assert alice.messages_with_text("from alice across renewals") == [
        {"from": "alice", "own": True}
    ]
    assert bob.messages_with_text("from alice across renewals") == [{"from": "alice", "own": False}]
    # The page never showed a reconnect to its reader.
    reconnects = alice.page.locator("#messages .notice", has_text="Reconnect").count()
    assert reconnects == 0


def test_a_page_back_within_seconds_makes_no_line(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """@connections deletes alice's socket; she reconnects at once: bob sees neither line."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    wait_for_members(bob, ["alice", "bob"])
    frames_before = bob.page.evaluate("window.__frames.length")

    drop_connection(stack, room, "alice")
    alice.wait_for_notice("Reconnected.")
    bob.page.wait_for_timeout(AFTER_QUIET_MS)

    # The room did say alice left and joined: the page kept both to itself.
    events = bob.page.evaluate(
        """(start) => window.__frames.slice(start).map((data) => JSON.parse(data))
             .filter((f) => f.type === "presence").map((f) => [f.event, f.name])""",
        frames_before,
    )
    assert events == [["left", "alice"], ["joined", "alice"]]
    assert presence_lines(bob) == []
    wait_for_members(bob, ["alice", "bob"])


def test_the_member_panel_toggles_on_a_phone_and_works_from_the_keyboard(
    open_chat: OpenChat, room: str
) -> None:
    """Closed at phone width; the keyboard reaches the toggle, opens (asking members), closes."""
    bob = open_chat("bob", room)
    alice = open_chat("alice", room, viewport=PHONE)
    wait_for_members(alice, ["alice", "bob"])
    page = alice.page
    toggle = page.locator("#members-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.is_hidden("#members-panel")
    assert toggle.get_attribute("aria-controls") == "members-panel"
    assert page.get_by_role("button", name="2 online").count() == 1
    shot_pair(alice, "members-phone")

    asked = "() => window.__frames.filter((d) => JSON.parse(d).type === 'members').length"
    members_frames = page.evaluate(asked)
    # In the tab order right before the join form's first field.
    page.focus("#name")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "members-toggle"
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.is_visible("#members-panel")
    # Opening asks the server again (a large room sends no presence frames).
    page.wait_for_function(f"() => ({asked})() > {members_frames}")
    panel = page.get_by_role("complementary", name="In this room")
    assert panel.get_by_role("heading", name="In this room").is_visible()
    assert panel.get_by_role("list").get_by_role("listitem").count() == 2
    assert page.evaluate("document.activeElement.id") == "members-heading"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "members-refresh"
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({asked})() > {members_frames + 1}")
    page.keyboard.press("Escape")
    assert page.is_hidden("#members-panel")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == "members-toggle"
    page.keyboard.press("Space")
    assert page.is_visible("#members-panel")
    shot_pair(alice, "members-phone-open")

    page.set_viewport_size({"width": DESKTOP["width"], "height": DESKTOP["height"]})
    bob.send("hello from the desktop")
    alice.wait_for_message("hello from the desktop")
    shot_pair(alice, "members-desktop-open")
    bob.page.click("#members-toggle")
    assert bob.page.is_hidden("#members-panel")
    shot_pair(bob, "members-desktop")


def test_a_partial_list_says_so_and_names_stay_text(open_chat: OpenChat, room: str) -> None:
    """A members frame with complete false says how many of how many; markup is shown as text."""
    alice = open_chat("alice", room)
    wait_for_members(alice, ["alice"])
    alice.page.evaluate(
        """(room) => window.__sockets.at(-1).dispatchEvent(new MessageEvent("message", {
             data: JSON.stringify({ type: "members", room, count: 250, complete: false, members: [
               { name: "alice", since: new Date().toISOString(), connections: 1 },
               { name: "<b>x</b>", since: "2026-11-01T08:00:00.000Z", connections: 3 }] }) }))""",
        room,
    )
    alice.page.wait_for_selector("#members-note:not([hidden])")
    assert alice.page.text_content("#members-note") == "The list is partial: 2 of 250 shown."
    assert member_count(alice) == "250"
    assert member_names(alice) == ["alice", "<b>x</b>"]
    assert alice.page.locator("#members-list b").count() == 0
    times = alice.page.text_content("#members-list .member__connections")
    assert times == "\N{MULTIPLICATION SIGN}3"


def shot_pair(chat: ChatPage, name: str) -> None:
    """A screenshot of the page as it is, for a look at the layout."""
    path = chat.screenshot(f"{name}.png")
    assert path.parent == SCREENSHOTS and path.stat().st_size > 10_000


def test_a_message_in_flight_on_the_old_socket_is_sent_again_on_its_successor(
    open_chat: OpenChat, room: str
) -> None:
    """A message the old socket never delivered goes on the new one, with its clientId, once."""
    alice = open_chat("alice", room, params={**FAST_TIMINGS, "renew_after_ms": "3000"})
    bob = open_chat("bob", room)
    text = "sent just before the socket was renewed"
    # The socket open now swallows messages, as a frame lost on its way would be.
    alice.page.evaluate(
        """() => {
          const socket = window.__sockets.at(-1);
          window.__held = [];
          socket.send = (data) => {
            if (JSON.parse(data).action === "sendmessage") window.__held.push(JSON.parse(data));
            else WebSocket.prototype.send.call(socket, data);
          };
        }"""
    )
    alice.send(text)
    assert alice.page.get_attribute("#messages .message--pending", "data-state") == "sending"

    bob.wait_for_message(text, timeout_ms=10000)
    alice.wait_for_message(text)
    held = alice.page.evaluate("window.__held")
    assert [frame["text"] for frame in held] == [text]
    own_copies = alice.page.evaluate(
        """(text) => window.__frames.map((data) => JSON.parse(data))
             .filter((f) => f.type === "message" && f.text === text).map((f) => f.clientId)""",
        text,
    )
    assert own_copies[0] == held[0]["clientId"]
    assert alice.messages_with_text(text) == [{"from": "alice", "own": True}]
    assert bob.messages_with_text(text) == [{"from": "alice", "own": False}]
    assert presence_lines(bob) == []


# The page's sockets to its room hold the `join` of every socket after the first (the
# successors of make-before-break), so the test answers it with crafted frames.
HOLD_SUCCESSOR_JOINS = """(room) => {
  const toRoom = () =>
    window.__sockets.filter((s) => new URL(s.url).searchParams.get("room") === room);
  const send = WebSocket.prototype.send;
  window.__heldJoins = [];
  WebSocket.prototype.send = function (data) {
    if (this !== toRoom()[0] && JSON.parse(data).action === "join") window.__heldJoins.push(data);
    else send.call(this, data);
  };
}"""

# Dispatch [socket, frame] pairs in order: "old" is the page's first socket to the room,
# "successor" the second (its join held, so only these frames answer it).
DELIVER = """([room, frames]) => {
  const toRoom = window.__sockets.filter((s) => new URL(s.url).searchParams.get("room") === room);
  const sockets = { old: toRoom[0], successor: toRoom[1] };
  for (const [to, frame] of frames) {
    const data = JSON.stringify({ room, ...frame });
    sockets[to].dispatchEvent(new MessageEvent("message", { data }));
  }
}"""


def renewing(open_chat: OpenChat, room: str) -> ChatPage:
    """Alice alone in ``room``, her page's successor socket open, its join not yet answered."""
    alice = open_chat("alice", room, params={**FAST_TIMINGS, "renew_after_ms": "1000"})
    wait_for_members(alice, ["alice"])
    alice.page.evaluate(HOLD_SUCCESSOR_JOINS, room)
    alice.page.wait_for_function("() => window.__heldJoins.length >= 1", timeout=10000)
    return alice


def members_frame(*names: str) -> dict[str, object]:
    """A complete `members` frame listing ``names``."""
    since = "2026-11-25T12:30:00.000Z"
    members = [{"name": name, "since": since, "connections": 1} for name in names]
    return {"type": "members", "count": len(names), "complete": True, "members": members}


def presence_frame(event: str, name: str, count: int) -> dict[str, object]:
    """A `presence` frame."""
    return {"type": "presence", "event": event, "name": name, "count": count}


@pytest.mark.parametrize(
    "frames",
    [
        # The successor's join answer already lists bob; his notice comes after it, on the
        # successor (now the socket), while the old socket's copy arrives too late to count.
        [
            ("successor", members_frame("alice", "bob")),
            ("successor", presence_frame("joined", "bob", 2)),
            ("old", presence_frame("joined", "bob", 2)),
        ],
        # Bob's notice reached the old socket first; the successor's answer was read before
        # bob was in the room, and its own copy of the notice follows it.
        [
            ("old", presence_frame("joined", "bob", 2)),
            ("successor", members_frame("alice")),
            ("successor", presence_frame("joined", "bob", 2)),
        ],
        # Both copies of the notice before the answer.
        [
            ("old", presence_frame("joined", "bob", 2)),
            ("successor", presence_frame("joined", "bob", 2)),
            ("successor", members_frame("alice", "bob")),
        ],
    ],
    ids=["answer-then-notice", "notice-stale-answer-notice", "notices-then-answer"],
)
def test_a_join_while_the_page_renews_its_socket_shows_one_line(
    open_chat: OpenChat, room: str, frames: list[tuple[str, dict[str, object]]]
) -> None:
    """Bob joins while alice's page swaps sockets: whatever the order of the successor's join
    answer and the notice's copies on both sockets, alice's log says "bob joined" once."""
    alice = renewing(open_chat, room)
    alice.page.evaluate(DELIVER, [room, frames])

    wait_for_members(alice, ["alice", "bob"])
    assert sockets_to(alice)[0] >= 2  # promoted: the old socket is closing
    alice.page.wait_for_timeout(500)
    assert presence_lines(alice) == ["bob joined"]


@pytest.mark.parametrize(
    "frames",
    [
        # The successor's answer no longer lists bob; his notice follows on the successor.
        [
            ("successor", members_frame("alice")),
            ("successor", presence_frame("left", "bob", 1)),
            ("old", presence_frame("left", "bob", 1)),
        ],
        # Bob's notice on the old socket first; the successor's answer still lists him (read
        # before he left), and its copy of the notice follows.
        [
            ("old", presence_frame("left", "bob", 1)),
            ("successor", members_frame("alice", "bob")),
            ("successor", presence_frame("left", "bob", 1)),
        ],
        # Both copies of the notice before the answer.
        [
            ("old", presence_frame("left", "bob", 1)),
            ("successor", presence_frame("left", "bob", 1)),
            ("successor", members_frame("alice")),
        ],
    ],
    ids=["answer-then-notice", "notice-stale-answer-notice", "notices-then-answer"],
)
def test_a_leave_while_the_page_renews_its_socket_shows_one_line(
    open_chat: OpenChat, room: str, frames: list[tuple[str, dict[str, object]]]
) -> None:
    """Bob (shown joining) leaves while alice's page swaps sockets: whatever the order of the
    frames on both sockets, alice's log says "bob left" once, after the quiet time."""
    alice = renewing(open_chat, room)
    alice.page.evaluate(DELIVER, [room, [("old", presence_frame("joined", "bob", 2))]])
    alice.wait_for_notice("bob joined")
    alice.page.evaluate(DELIVER, [room, frames])

    wait_for_members(alice, ["alice"])
    assert sockets_to(alice)[0] >= 2
    alice.page.wait_for_timeout(AFTER_QUIET_MS)
    assert presence_lines(alice) == ["bob joined", "bob left"]
