"""The chat page in a real Chromium against the local stack."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, WebSocketRoute

from local_stack.stack import Stack
from tests.browser.conftest import (
    PHONE,
    SCREENSHOTS,
    OpenChat,
    connection_of,
    drop_connection,
)

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1">'


def test_message_reaches_its_room_once_with_sender_and_not_other_rooms(
    open_chat: OpenChat, room: str
) -> None:
    """A message appears once in every page of its room, with its sender, and nowhere else."""
    hello = "Hello Bob, is the chat up?"
    alice = open_chat("alice", room)
    bob = open_chat("bob", room, viewport=PHONE, color_scheme="dark")
    carol = open_chat("carol", f"{room}-other")

    alice.send(hello)
    bob.wait_for_message(hello)
    # Bob's reply travels after alice's message on every socket, so once it has
    # arrived everywhere any duplicate of alice's message would have too.
    bob.send("It is. Hi Alice!")
    alice.wait_for_message("It is. Hi Alice!")
    bob.wait_for_message("It is. Hi Alice!")
    alice.wait_for_message(hello)
    carol.send("Anyone in here?")
    carol.wait_for_message("Anyone in here?")

    assert bob.messages_with_text(hello) == [{"from": "alice", "own": False}]
    assert alice.messages_with_text(hello) == [{"from": "alice", "own": True}]
    assert alice.messages_with_text("It is. Hi Alice!") == [{"from": "bob", "own": False}]
    assert carol.messages_with_text(hello) == []
    assert carol.messages_with_text("It is. Hi Alice!") == []

    shots = [alice.screenshot("alice-desktop.png"), bob.screenshot("bob-phone-dark.png")]
    assert all(path.parent == SCREENSHOTS and path.stat().st_size > 10_000 for path in shots)


def test_markup_in_a_message_is_shown_as_text_and_never_runs(
    open_chat: OpenChat, room: str
) -> None:
    """An HTML payload is displayed literally on both sides and creates no element."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)

    alice.send(XSS)
    bob.wait_for_message(XSS)
    alice.wait_for_message(XSS)

    for chat in (alice, bob):
        assert chat.page.locator("#messages img").count() == 0
        assert chat.page.evaluate("window.__xss") is None
    assert bob.messages_with_text(XSS) == [{"from": "alice", "own": False}]


def test_a_markup_nickname_is_shown_as_text(open_chat: OpenChat, room: str) -> None:
    """A nickname holding markup is a name like any other."""
    mallory = open_chat('<b onclick="__xss=1">m</b>', room)
    bob = open_chat("bob", room)

    mallory.send("hi")
    bob.wait_for_message("hi")

    assert bob.messages_with_text("hi") == [{"from": '<b onclick="__xss=1">m</b>', "own": False}]
    assert bob.page.locator("#messages b").count() == 0


def test_a_replayed_message_id_is_shown_once(open_chat: OpenChat, room: str) -> None:
    """A frame carrying an id already shown (a redelivery) is dropped."""
    alice = open_chat("alice", room)
    alice.send("only once")
    alice.wait_for_message("only once")
    # The page may show the message from the join's history page before its own copy (the
    # message frame) arrives: replay the frame only once it is there.
    alice.page.wait_for_function(
        """() => window.__frames.some(
             (data) => JSON.parse(data).type === "message" && data.includes("only once"))"""
    )

    replayed = alice.page.evaluate(
        """() => {
          // The message frame: the join's history page may hold the message too
          // (join answers after a members query, so a send can overtake it).
          const frame = window.__frames.find(
            (data) => JSON.parse(data).type === "message" && data.includes("only once"));
          const socket = window.__sockets.at(-1);
          socket.dispatchEvent(new MessageEvent("message", { data: frame }));
          socket.dispatchEvent(new MessageEvent("message", { data: frame }));
          return JSON.parse(frame).id;
        }"""
    )

    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", replayed)
    assert len(alice.messages_with_text("only once")) == 1
    assert alice.page.locator(f'#messages [data-id="{replayed}"]').count() == 1


def test_over_long_message_is_blocked_by_counter_and_server_error_is_a_notice(
    open_chat: OpenChat, room: str
) -> None:
    """The counter stops an over-long message; forced through, the server's error shows."""
    alice = open_chat("alice", room)
    limit = alice.page.evaluate("import('/config.js').then((m) => m.config.maxMessageChars)")

    alice.page.fill("#text", "x" * (limit + 1))
    assert alice.page.is_disabled("#send")
    assert alice.page.text_content("#counter") == "1 character too many"
    alice.page.press("#text", "Enter")
    assert alice.page.input_value("#text") == "x" * (limit + 1)

    alice.page.evaluate(
        """(limit) => window.__sockets.at(-1).send(
             JSON.stringify({ action: "sendmessage", text: "y".repeat(limit + 1) }))""",
        limit,
    )
    alice.wait_for_notice(f"messages can be at most {limit} characters")
    assert alice.page.locator("#messages .notice--error").count() == 1
    assert alice.page.locator("#messages .message").count() == 0


def test_gateway_and_unknown_error_frames_are_shown_in_plain_words(
    open_chat: OpenChat, room: str
) -> None:
    """API Gateway's own frames and the backend's codes become readable notices."""
    alice = open_chat("alice", room)

    alice.page.evaluate('window.__sockets.at(-1).send("{not json")')
    alice.wait_for_notice("The server could not read what this page sent.")
    alice.page.evaluate(
        """() => window.__sockets.at(-1).dispatchEvent(new MessageEvent("message", {
             data: JSON.stringify({ message: "Internal server error", connectionId: "c",
                                    requestId: "r" }) }))"""
    )
    alice.wait_for_notice("Something went wrong on the server. Please try again.")


def test_switching_room_reconnects_and_choices_are_remembered(
    open_chat: OpenChat, room: str
) -> None:
    """Joining another room moves the page there; nickname and room survive a reload."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    other = f"{room}-b"
    carol = open_chat("carol", other)

    alice.page.fill("#room", other)
    alice.page.press("#room", "Enter")
    alice.wait_for_notice(f"Connected to room {other} as alice.")
    bob.send("alice left, did she?")
    bob.wait_for_message("alice left, did she?")
    carol.send("welcome alice")
    alice.wait_for_message("welcome alice")
    assert alice.messages_with_text("alice left, did she?") == []
    assert alice.page.text_content("#room-name") == other
    sockets = alice.page.evaluate(
        "window.__sockets.map((s) => [new URL(s.url).searchParams.get('room'), s.readyState])"
    )
    assert sockets[-1] == [other, 1]
    assert all(state == 3 for _, state in sockets[:-1])

    alice.page.reload()
    alice.wait_for_notice(f"Connected to room {other} as alice.")
    assert alice.page.input_value("#name") == "alice"
    assert alice.page.input_value("#room") == other


def test_invalid_room_is_refused_in_the_form(open_chat: OpenChat, room: str) -> None:
    """A room the backend would refuse is explained next to the form, not sent."""
    alice = open_chat("alice", room)

    alice.page.fill("#room", "no spaces allowed")
    alice.page.click("#join-form button[type=submit]")

    assert alice.page.is_visible("#join-error")
    assert "letters, digits" in (alice.page.text_content("#join-error") or "")
    assert alice.page.get_attribute("#room", "aria-invalid") == "true"
    assert alice.page.text_content("#room-name") == room


def test_auto_scroll_only_when_reader_is_at_the_bottom(open_chat: OpenChat, room: str) -> None:
    """New messages scroll the list when at the bottom, and not when the reader scrolled up."""
    alice = open_chat("alice", room, viewport=PHONE)
    page = alice.page
    inject = """([first, count]) => {
      const socket = window.__sockets.at(-1);
      for (let i = first; i < first + count; i += 1) {
        const id = "01JDQ7ZK3V8Y6W4T2R1P0" + String(i).padStart(5, "0");
        socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify({
          type: "message", id, room: new URL(socket.url).searchParams.get("room"),
          from: "bot", text: "line " + i, sentAt: new Date().toISOString() }) }));
      }
    }"""
    distance_from_bottom = "(l) => l.scrollHeight - l.scrollTop - l.clientHeight"

    page.evaluate(inject, [0, 40])
    assert page.eval_on_selector("#messages", distance_from_bottom) < 2
    assert page.is_hidden("#jump")

    page.eval_on_selector("#messages", "(l) => { l.scrollTop = 0; }")
    page.evaluate(inject, [40, 5])
    assert page.eval_on_selector("#messages", "(l) => l.scrollTop") == 0
    assert page.is_visible("#jump")

    page.click("#jump")
    assert page.eval_on_selector("#messages", distance_from_bottom) < 2


def test_content_security_policy_forbids_inline_script(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """The CSP meta allows only same-origin script and the stack's WebSocket origin."""
    alice = open_chat("alice", room)
    page = alice.page
    policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content") or ""
    directives = {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }
    ws_origin = re.sub(r"^(wss?://[^/]+).*$", r"\1", stack.ws_url)

    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] in (["'none'"], ["'self'"])
    assert directives["connect-src"] == [ws_origin]
    assert directives["base-uri"] == ["'none'"]
    assert all("unsafe" not in value for values in directives.values() for value in values)

    violations = page.evaluate(
        """() => new Promise((resolve) => {
          const seen = [];
          document.addEventListener("securitypolicyviolation", (event) => {
            seen.push(event.effectiveDirective);
            if (seen.length === 2) resolve(seen.sort());
          });
          const script = document.createElement("script");
          script.textContent = "window.__inline = 1";
          document.body.append(script);
          new WebSocket("ws://127.0.0.1:9/elsewhere");
        })"""
    )
    assert violations == ["connect-src", "script-src-elem"]
    assert page.evaluate("window.__inline") is None


def test_page_pings_and_the_server_answers(open_chat: OpenChat, room: str) -> None:
    """With a short ping interval the page sends ping and receives pong on the same socket."""
    alice = open_chat("alice", room, params={"ping_ms": "500"})

    alice.page.wait_for_function(
        "() => window.__frames.some((data) => JSON.parse(data).type === 'pong')", timeout=3000
    )
    assert alice.page.evaluate("window.__sockets.at(-1).readyState") == 1
    assert alice.page.locator("#messages .notice--warning").count() == 0


def test_a_socket_that_stops_answering_is_replaced(browser: Browser, stack: Stack) -> None:
    """No answer to a ping within the pong timeout counts as a drop: the page reconnects."""
    context = browser.new_context()
    page = context.new_page()
    opened: list[WebSocketRoute] = []

    def accept_and_stay_silent(socket: WebSocketRoute) -> None:
        # Not connecting it to the server leaves the socket open and mute.
        opened.append(socket)

    page.route_web_socket(re.compile(r"^ws://"), accept_and_stay_silent)
    page.goto(
        f"{stack.page_url}?ping_ms=500&pong_timeout_ms=500"
        "&reconnect_base_ms=100&reconnect_cap_ms=200"
    )
    page.wait_for_function(
        """() => [...document.querySelectorAll("#messages .notice")]
             .some((node) => node.textContent.includes("Connection lost. Reconnecting"))""",
        timeout=5000,
    )
    page.wait_for_selector("#status[data-state=open]")
    assert len(opened) >= 2
    context.close()


def test_not_connected_error_makes_the_page_reconnect(open_chat: OpenChat, room: str) -> None:
    """The server saying it has no record of the connection makes the page open a new one."""
    alice = open_chat("alice", room)
    before = alice.page.evaluate("window.__sockets.length")

    alice.page.evaluate(
        """() => window.__sockets.at(-1).dispatchEvent(new MessageEvent("message", {
             data: JSON.stringify({ type: "error", code: "not_connected", message: "x" }) }))"""
    )
    alice.wait_for_notice("Reconnected.")

    assert alice.page.evaluate("window.__sockets.length") == before + 1
    alice.send("back again")
    alice.wait_for_message("back again")


def test_dropped_connection_comes_back_on_its_own(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """After a DELETE on @connections the page says so, reconnects by itself, and chats again."""
    # A backoff long enough to see the offline state, short enough to keep the test quick.
    slow = {"reconnect_base_ms": "600", "reconnect_cap_ms": "800"}
    alice = open_chat("alice", room, params=slow)
    bob = open_chat("bob", room)
    alice.page.fill("#text", "are you still there?")
    assert alice.page.is_enabled("#send")

    alice_id = drop_connection(stack, room, "alice")

    alice.wait_for_notice("Connection lost. Reconnecting")
    assert "Reconnecting" in (alice.page.text_content("#status-text") or "")
    # Offline, sending queues the message (test_chat_history.py): the button stays usable.
    assert alice.page.is_enabled("#send")
    assert "once reconnected" in (alice.page.get_attribute("#send", "title") or "")
    alice.wait_for_notice("Reconnected.")
    assert alice.page.get_attribute("#status", "data-state") == "open"
    assert alice.page.input_value("#text") == "are you still there?"

    alice.page.click("#send")
    bob.wait_for_message("are you still there?")
    bob.send("yes, welcome back")
    alice.wait_for_message("yes, welcome back")
    assert connection_of(stack, room, "alice") != alice_id
