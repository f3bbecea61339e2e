"""The chat page remembers: history on join, catch-up after a drop, and messages being sent."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import ViewportSize
from websockets.sync.client import ClientConnection, connect

from local_stack.stack import Stack
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    ChatPage,
    OpenChat,
    drop_connection,
)

pytestmark = pytest.mark.browser

PHONE_SIZE: ViewportSize = {"width": PHONE["width"], "height": PHONE["height"]}
DESKTOP_SIZE: ViewportSize = {"width": DESKTOP["width"], "height": DESKTOP["height"]}

# A reconnect that waits 2 to 4 s (equal jitter): long enough to send while the page is away.
# Long enough for the messages "sent while away" to be sent on a busy machine.
SLOW_RECONNECT = {"reconnect_base_ms": "8000", "reconnect_cap_ms": "8000"}
RECONNECTED_WITHIN_MS = 15_000
# The page catches up once more this long after an open (config.js catchUpAgainMs), plus slack.
LATE_CATCH_UP_MS = 3500


@contextmanager
def raw_client(stack: Stack, name: str, room: str) -> Iterator[ClientConnection]:
    """A WebSocket client that is not a page, in ``room`` as ``name``."""
    url = f"{stack.ws_url}?{urlencode({'name': name, 'room': room})}"
    with connect(url, proxy=None, compression=None, open_timeout=10) as socket:
        yield socket


def send_raw(socket: ClientConnection, text: str) -> dict[str, Any]:
    """Send ``text`` with a fresh clientId and return the stored message (the own copy)."""
    client_id = uuid.uuid4().hex
    socket.send(json.dumps({"action": "sendmessage", "text": text, "clientId": client_id}))
    while True:
        frame: dict[str, Any] = json.loads(socket.recv(timeout=5))
        assert frame.get("type") != "error", frame
        if frame.get("type") == "message" and frame.get("clientId") == client_id:
            return frame


def send_and_wait(chat: ChatPage, text: str) -> None:
    """Send through the UI and wait until the server's copy came back."""
    chat.send(text)
    chat.wait_for_message(text)


def frames_of_message(chat: ChatPage, text: str) -> int:
    """How many `message` frames with ``text`` reached the page's sockets."""
    count: int = chat.page.evaluate(
        """(text) => window.__frames.map((data) => JSON.parse(data))
             .filter((f) => f.type === "message" && f.text === text).length""",
        text,
    )
    return count


def shot(chat: ChatPage, name: str) -> None:
    """Screenshots at the page's size and at phone width, for a look at the layout."""
    paths = [chat.screenshot(f"{name}-desktop.png")]
    chat.page.set_viewport_size(PHONE_SIZE)
    paths.append(chat.screenshot(f"{name}-phone.png"))
    assert all(path.parent == SCREENSHOTS and path.stat().st_size > 10_000 for path in paths)


def test_a_dropped_page_catches_up_with_what_was_sent_meanwhile_once_each_in_order(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """After @connections deletes its socket, the page reconnects and shows the missed messages."""
    alice = open_chat("alice", room, params=SLOW_RECONNECT)
    bob = open_chat("bob", room)
    send_and_wait(bob, "before the drop")
    alice.wait_for_message("before the drop")

    drop_connection(stack, room, "alice")
    alice.wait_for_notice("Connection lost. Reconnecting")
    send_and_wait(bob, "while away 1")
    with raw_client(stack, "carol", room) as carol:
        send_raw(carol, "while away 2, from a raw client")
        bob.wait_for_message("while away 2, from a raw client")
        send_and_wait(bob, "while away 3")
        # They really were sent while alice had no socket.
        assert alice.page.get_attribute("#status", "data-state") == "waiting"
        assert alice.message_texts() == ["before the drop"]

        alice.wait_for_notice("Reconnected.", timeout_ms=RECONNECTED_WITHIN_MS)
        alice.wait_for_message("while away 3")
        send_raw(carol, "after the return")
        send_and_wait(bob, "after the return, bob")
        alice.wait_for_message("after the return, bob")

    expected = [
        "before the drop",
        "while away 1",
        "while away 2, from a raw client",
        "while away 3",
        "after the return",
        "after the return, bob",
    ]
    assert alice.message_texts() == expected
    # The late catch-up, 3 s after the open, finds them all shown already.
    alice.page.wait_for_timeout(LATE_CATCH_UP_MS)
    assert alice.message_texts() == expected
    assert bob.message_texts() == expected
    ids = alice.page.eval_on_selector_all(
        "#messages .message", "(ms) => ms.map((m) => m.dataset.id)"
    )
    assert ids == sorted(ids)
    assert len(set(ids)) == len(expected)


def test_a_message_typed_while_offline_is_delivered_once_after_reconnecting(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """Offline, a message is queued and shown as waiting; once back it reaches everyone once."""
    alice = open_chat("alice", room, params=SLOW_RECONNECT)
    bob = open_chat("bob", room)
    text = "typed while offline"

    drop_connection(stack, room, "alice")
    alice.wait_for_notice("Connection lost. Reconnecting")
    alice.send(text)

    pending = alice.page.locator("#messages .message--pending")
    assert pending.count() == 1
    assert pending.get_attribute("data-state") == "queued"
    assert pending.locator(".message__status").text_content() == "Waiting for connection…"
    assert pending.locator(".message__text").text_content() == text
    assert alice.page.input_value("#text") == ""
    assert alice.page.get_attribute("#status", "data-state") == "waiting"
    shot(alice, "pending")

    alice.wait_for_notice("Reconnected.", timeout_ms=RECONNECTED_WITHIN_MS)
    bob.wait_for_message(text)
    alice.wait_for_message(text)
    alice.page.wait_for_timeout(LATE_CATCH_UP_MS)

    assert alice.messages_with_text(text) == [{"from": "alice", "own": True}]
    assert bob.messages_with_text(text) == [{"from": "alice", "own": False}]
    assert pending.count() == 0
    assert frames_of_message(bob, text) == 1
    with raw_client(stack, "dave", room) as dave:
        dave.send(json.dumps({"action": "history"}))
        page = json.loads(dave.recv(timeout=5))
    assert [message["text"] for message in page["messages"]] == [text]


def test_a_late_joiner_sees_the_last_fifty_and_loads_earlier_ones_once_each(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """History shows the newest 50 of 120; 'load earlier' prepends older pages in place."""
    texts = [f"message {n:03}" for n in range(120)]
    with raw_client(stack, "carol", room) as carol:
        for text in texts:
            send_raw(carol, text)

    bob = open_chat("bob", room)
    page = bob.page
    delivered = "() => document.querySelectorAll('#messages .message[data-id]').length"
    page.wait_for_function(f"() => ({delivered})() === 50")
    assert bob.message_texts() == texts[70:]
    assert page.is_visible("#earlier")
    distance_from_bottom = "(l) => l.scrollHeight - l.scrollTop - l.clientHeight"
    assert page.eval_on_selector("#messages", distance_from_bottom) < 2

    page.eval_on_selector("#messages", "(l) => { l.scrollTop = 0; }")
    shot(bob, "history")
    page.set_viewport_size(DESKTOP_SIZE)
    page.eval_on_selector("#messages", "(l) => { l.scrollTop = 0; }")
    top_of = """(text) => [...document.querySelectorAll("#messages .message")]
        .find((m) => m.querySelector(".message__text").textContent === text)
        .getBoundingClientRect().top"""
    before = page.evaluate(top_of, texts[70])
    page.click("#earlier")
    page.wait_for_function(f"() => ({delivered})() === 100")
    assert bob.message_texts() == texts[20:]
    # The reader still sees the message they were looking at, where it was.
    assert abs(page.evaluate(top_of, texts[70]) - before) <= 2
    assert page.is_visible("#earlier")

    page.click("#earlier")
    page.wait_for_function(f"() => ({delivered})() === 120")
    assert bob.message_texts() == texts
    page.wait_for_selector("#earlier", state="hidden")
    page.wait_for_timeout(LATE_CATCH_UP_MS)
    assert bob.message_texts() == texts


HOLD_SENDS = """() => {
  // Keep the page's sendmessage frames from the server, as a lost frame would be.
  const socket = window.__sockets.at(-1);
  window.__held = [];
  socket.send = (data) => {
    if (JSON.parse(data).action === "sendmessage") window.__held.push(JSON.parse(data));
    else WebSocket.prototype.send.call(socket, data);
  };
}"""


def test_a_message_the_server_could_not_store_shows_its_failure_and_a_retry_delivers_it(
    open_chat: OpenChat, room: str
) -> None:
    """An error frame naming a message's clientId marks it not sent; Retry resends the same id."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    text = "please store me"
    alice.page.evaluate(HOLD_SENDS)

    alice.send(text)
    failing = alice.page.locator("#messages .message--pending")
    assert failing.get_attribute("data-state") == "sending"
    assert failing.locator(".message__status").text_content() == "Sending…"
    held = alice.page.evaluate("window.__held")
    assert [frame["text"] for frame in held] == [text]
    assert re.fullmatch("[0-9a-f]{32}", held[0]["clientId"])  # 128 random bits (sessionoutbox.js)
    client_id = held[0]["clientId"]

    alice.page.evaluate(
        """(clientId) => window.__sockets.at(-1).dispatchEvent(new MessageEvent("message", {
             data: JSON.stringify({ type: "error", code: "not_stored", clientId,
                                    message: "The message could not be stored." }) }))""",
        client_id,
    )
    alice.page.wait_for_selector("#messages .message--failed")
    assert failing.get_attribute("data-state") == "failed"
    assert failing.locator(".message__status").text_content() == "Not sent"
    assert "Sending it again is safe" in (failing.locator(".message__detail").text_content() or "")
    retry = failing.get_by_role("button", name=f"Retry: {text}")
    assert retry.is_visible()
    assert alice.page.locator("#messages .notice--error").count() == 0
    shot(alice, "failed")

    alice.page.evaluate("() => { delete window.__sockets.at(-1).send; }")
    retry.click()
    bob.wait_for_message(text)
    alice.wait_for_message(text)

    assert alice.messages_with_text(text) == [{"from": "alice", "own": True}]
    assert bob.messages_with_text(text) == [{"from": "alice", "own": False}]
    own_copies = alice.page.evaluate(
        """(text) => window.__frames.map((data) => JSON.parse(data))
             .filter((f) => f.type === "message" && f.text === text).map((f) => f.clientId)""",
        text,
    )
    assert own_copies == [client_id]
    assert (
        alice.page.locator("#messages .message--failed, #messages .message--pending").count() == 0
    )


def test_a_message_the_server_refuses_offers_to_edit_it(open_chat: OpenChat, room: str) -> None:
    """The backend's own error naming the clientId (too long) marks the message; Edit undoes it."""
    alice = open_chat("alice", room)
    limit = alice.page.evaluate("import('/config.js').then((m) => m.config.maxMessageChars)")
    # The counter never lets a too-long text out: lengthen it on its way to the server.
    alice.page.evaluate(
        """(limit) => {
          const socket = window.__sockets.at(-1);
          socket.send = (data) => {
            const frame = JSON.parse(data);
            if (frame.action === "sendmessage") frame.text = "y".repeat(limit + 1);
            WebSocket.prototype.send.call(socket, JSON.stringify(frame));
          };
        }""",
        limit,
    )

    alice.send("short enough here")
    refused = alice.page.locator("#messages .message--failed")
    refused.wait_for()
    assert f"at most {limit} characters" in (
        refused.locator(".message__detail").text_content() or ""
    )
    assert refused.get_by_role("button", name="Retry: short enough here").count() == 0

    refused.get_by_role("button", name="Edit: short enough here").click()
    assert refused.count() == 0
    assert alice.page.input_value("#text") == "short enough here"
    assert alice.page.locator("#messages .message").count() == 0


def test_a_message_in_flight_when_the_socket_drops_is_resent_with_its_client_id_once(
    open_chat: OpenChat, room: str
) -> None:
    """A socket lost right after sending: the page resends the same clientId; all see it once."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    text = "sent as the line went down"
    # Close the socket right after the first sendmessage leaves: its own copy can never
    # arrive on it (a closing socket delivers nothing), so the page cannot know it was stored.
    alice.page.evaluate(
        """() => {
          const send = WebSocket.prototype.send;
          window.__sent = [];
          WebSocket.prototype.send = function (data) {
            send.call(this, data);
            const frame = JSON.parse(data);
            if (frame.action !== "sendmessage") return;
            window.__sent.push(frame.clientId);
            if (window.__sent.length === 1) this.close();
          };
        }"""
    )

    alice.send(text)
    alice.wait_for_notice("Reconnected.", timeout_ms=RECONNECTED_WITHIN_MS)
    bob.wait_for_message(text)
    alice.wait_for_message(text)
    alice.page.wait_for_timeout(LATE_CATCH_UP_MS)

    sent = alice.page.evaluate("window.__sent")
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert alice.messages_with_text(text) == [{"from": "alice", "own": True}]
    assert bob.messages_with_text(text) == [{"from": "alice", "own": False}]
    assert frames_of_message(bob, text) == 1


def test_the_size_cap_keeps_order_and_offers_what_it_dropped(
    open_chat: OpenChat, room: str
) -> None:
    """Past 500 items the oldest go; the list stays in id order and 'load earlier' asks for them."""
    alice = open_chat("alice", room)
    page = alice.page
    # The newest page of this room (the page's first socket, before joining, was elsewhere).
    page.wait_for_function(
        """(room) => window.__frames.map((data) => JSON.parse(data))
             .some((f) => f.type === "history" && f.room === room)""",
        arg=room,
    )
    assert page.is_hidden("#earlier")
    ids = page.evaluate(
        """() => {
          const socket = window.__sockets.at(-1);
          const room = new URL(socket.url).searchParams.get("room");
          const ids = [];
          // Newest first, then the rest: arrival order must not matter.
          for (const i of [504, ...Array.from({ length: 504 }, (_, n) => n)]) {
            const id = "01JDQ7ZK3V8Y6W4T2R1P0" + String(i).padStart(5, "0");
            ids.push(id);
            socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify({
              type: "message", id, room, from: "bot", text: "line " + i,
              sentAt: new Date().toISOString() }) }));
          }
          return ids.sort();
        }"""
    )
    shown = page.eval_on_selector_all("#messages > *:not(#earlier)", "(items) => items.length")
    shown_ids = page.eval_on_selector_all(
        "#messages .message", "(ms) => ms.map((m) => m.dataset.id)"
    )
    assert shown <= 500
    assert shown_ids == sorted(shown_ids)
    assert shown_ids == ids[-len(shown_ids) :]
    assert page.is_enabled("#earlier")

    page.click("#earlier")
    # The server has none of these made-up messages: nothing older, so the control goes.
    page.wait_for_selector("#earlier", state="hidden")
    asked = page.evaluate(
        """() => window.__frames.map((data) => JSON.parse(data))
             .filter((f) => f.type === "history" && f.before !== undefined).map((f) => f.before)"""
    )
    assert asked == [shown_ids[0]]
    assert (
        page.eval_on_selector_all("#messages .message", "(ms) => ms.map((m) => m.dataset.id)")
        == shown_ids
    )
