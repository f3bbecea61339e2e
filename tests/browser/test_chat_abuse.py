"""The chat page against abuse: names held by a key, look-alikes refused, disguising text
refused in the composer, text that cannot spill over its neighbours, and rate limits met
calmly (docs/protocol.md, "Connecting", `sendmessage`, Limits)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from urllib.parse import parse_qs, urlparse

import pytest
from chat.config import EnvVar
from playwright.sync_api import Browser

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.browser.conftest import (
    ChatPage,
    OpenChat,
    chat_opener,
    connection_of,
)
from tests.local_stack.support import fresh_room

pytestmark = pytest.mark.browser

REFUSED_WORDS = "This name may be taken in this room by someone else"
STACKED_MARKS = "Z" + "\u0301\u0316" * 25  # 50 marks on one letter
LONG_WORD = "w" * 2000  # MAX_MESSAGE_CHARS, unbroken


def socket_keys(chat: ChatPage) -> list[str]:
    """The ``key`` each WebSocket of the page presented, in the order opened."""
    urls: list[str] = chat.page.evaluate("() => window.__sockets.map((socket) => socket.url)")
    return [parse_qs(urlparse(url).query)["key"][0] for url in urls]


def open_sockets(chat: ChatPage) -> int:
    """How many of the page's WebSockets are open."""
    count: int = chat.page.evaluate(
        "() => window.__sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length"
    )
    return count


def test_a_name_held_in_another_browser_is_refused_with_a_hint_and_the_holder_carries_on(
    open_chat: OpenChat, stack: Stack, room: str
) -> None:
    """A second browser (its own storage, so its own key) joining as "alice" never opens, says
    the name may be taken and offers another; the first alice keeps her one connection."""
    alice = open_chat("alice", room)
    impostor = open_chat("alice", room, connected=False)
    impostor.wait_for_notice(REFUSED_WORDS)
    impostor.screenshot("abuse-name-taken-hint.png")
    assert open_sockets(impostor) == 0
    assert impostor.page.locator(".notice", has_text="Connected to room").count() == 0
    assert impostor.page.locator(".notice", has_text=REFUSED_WORDS).count() == 1

    assert connection_of(stack, room, "alice")  # still exactly one, hers
    alice.send("still here")
    alice.wait_for_message("still here")

    impostor.page.get_by_role("button", name="Choose another name").click()
    assert impostor.page.evaluate("() => document.activeElement.id") == "name"
    impostor.page.fill("#name", "alice2")
    impostor.page.click("#join-form button[type=submit]")
    impostor.wait_for_notice(f"Connected to room {room} as alice2.")


def test_a_reloaded_page_keeps_its_name_with_the_same_key(open_chat: OpenChat, room: str) -> None:
    """The key comes from a secret kept in localStorage: after a reload the page joins as
    "alice" again at once, presenting the same key (never the secret itself)."""
    alice = open_chat("alice", room)
    # The page first joined under its guest name, then as alice: one key for the room.
    before = socket_keys(alice)[-1]
    secret = alice.page.evaluate("() => localStorage.getItem('awsome-chat:secret')")
    assert before != secret
    assert len(before) == 43

    alice.page.reload()
    alice.wait_for_notice(f"Connected to room {room} as alice.")
    assert set(socket_keys(alice)) == {before}
    assert alice.page.locator(".notice", has_text=REFUSED_WORDS).count() == 0


@pytest.mark.parametrize(
    ("look_alike", "shown_as"),
    [
        ("\uff21\uff2c\uff29\uff23\uff25", "ALICE"),  # fullwidth: NFKC folds it to ASCII
        ("\u0430\u04cf\u0456\u0441\u0435", "\u0430\u04cf\u0456\u0441\u0435"),  # all Cyrillic
    ],
)
def test_a_look_alike_of_a_held_name_is_refused_too(
    open_chat: OpenChat, room: str, look_alike: str, shown_as: str
) -> None:
    """A name that compares equal to "alice" (fullwidth, or spelt in Cyrillic) is held by
    alice: another browser is refused with the hint; the form shows the name as kept."""
    open_chat("alice", room)
    spoof = open_chat(look_alike, room, connected=False)
    spoof.wait_for_notice(REFUSED_WORDS)
    assert open_sockets(spoof) == 0
    assert spoof.page.input_value("#name") == shown_as


def test_the_composer_refuses_a_bidi_override_and_keeps_the_text(
    open_chat: OpenChat, room: str
) -> None:
    """ "invoice_\\u202efdp.exe" would display as "invoice_exe.pdf": the composer says why it
    is not sent and keeps it; once the override is removed it sends."""
    alice = open_chat("alice", room)
    disguised = "invoice_\u202efdp.exe"
    alice.send(disguised)
    error = alice.page.locator("#composer-error")
    assert error.is_visible()
    assert "U+202E" in error.inner_text()
    assert alice.page.input_value("#text") == disguised
    assert alice.page.is_disabled("#send")
    assert alice.message_texts() == []

    alice.send("invoice_fdp.exe")
    alice.wait_for_message("invoice_fdp.exe")
    assert error.is_hidden()


def test_stacked_marks_and_a_long_word_stay_inside_their_message_box(
    open_chat: OpenChat, room: str
) -> None:
    """Fifty marks on one letter and a 2,000-character word: each message text stays inside
    its bubble, bubbles do not overlap, nothing scrolls sideways, and the marks are clipped."""
    alice = open_chat("alice", room)
    for text in ("before", STACKED_MARKS, LONG_WORD, "after"):
        alice.send(text)
        alice.wait_for_message(text)
    alice.page.evaluate("() => document.querySelector('#messages').scrollTo(0, 0)")
    alice.screenshot("abuse-stacked-marks-long-word.png")
    layout = alice.page.evaluate(
        """() => {
          const box = (node) => node.getBoundingClientRect().toJSON();
          const list = document.querySelector("#messages");
          const messages = [...list.querySelectorAll(".message")].map((message) => ({
            message: box(message),
            body: box(message.querySelector(".message__body")),
            text: box(message.querySelector(".message__text")),
            overflow: getComputedStyle(message.querySelector(".message__text")).overflow,
          }));
          return { messages, sideways: list.scrollWidth - list.clientWidth };
        }"""
    )
    assert layout["sideways"] <= 0
    boxes = layout["messages"]
    assert len(boxes) == 4
    for entry in boxes:
        body, text = entry["body"], entry["text"]
        assert entry["overflow"] == "clip"
        assert body["left"] - 0.5 <= text["left"] and text["right"] <= body["right"] + 0.5
        assert body["top"] - 0.5 <= text["top"] and text["bottom"] <= body["bottom"] + 0.5
    for upper, lower in pairwise(boxes):
        assert upper["message"]["bottom"] <= lower["message"]["top"]


# A stack whose budgets are small: two messages and three reads back to back, then one a second.
@pytest.fixture(scope="module")
def limited_stack() -> Iterator[Stack]:
    """A local stack of its own whose message and read budgets are small."""
    environment = {
        **LIFTED_RATE_LIMITS,
        EnvVar.RATE_LIMIT_MESSAGES_PER_MINUTE.value: "60",
        EnvVar.RATE_LIMIT_MESSAGE_BURST.value: "2",
        EnvVar.RATE_LIMIT_READS_PER_MINUTE.value: "60",
        EnvVar.RATE_LIMIT_READ_BURST.value: "3",
    }
    options = StackOptions(port=0, function=FunctionSettings(environment=environment))
    with running_stack(options) as running:
        yield running


@pytest.fixture
def open_limited_chat(browser: Browser, limited_stack: Stack) -> Iterator[OpenChat]:
    """Open chat pages on the rate-limited stack."""
    with chat_opener(browser, limited_stack) as opener:
        yield opener


def test_messages_sent_too_fast_wait_calmly_and_all_arrive_once_each(
    open_limited_chat: OpenChat,
) -> None:
    """Five messages at once against a burst of two: the refused ones say "sending too fast",
    stay in the outbox and go again by themselves; all five arrive once each."""
    room = fresh_room("rl")
    alice = open_limited_chat("alice", room)
    bob = open_limited_chat("bob", room)
    texts = [f"quick {n}" for n in range(1, 6)]
    for text in texts:
        alice.send(text)
    alice.page.wait_for_function(
        """() => [...document.querySelectorAll(".message__status")]
            .some((node) => node.textContent.includes("too fast"))""",
        timeout=5000,
    )
    alice.screenshot("abuse-sending-too-fast.png")
    assert alice.page.locator(".message--failed").count() == 0

    for text in texts:
        alice.wait_for_message(text, timeout_ms=15000)
        bob.wait_for_message(text, timeout_ms=15000)
    # Once each. The five went at once and the server takes a socket's frames concurrently,
    # so which two fit the burst is not fixed: both pages show the server's order (by id).
    assert sorted(alice.message_texts()) == texts
    assert bob.message_texts() == alice.message_texts()
    assert alice.page.locator(".message--pending").count() == 0


def test_a_refused_read_is_asked_again_after_the_delay(open_limited_chat: OpenChat) -> None:
    """Asking for the member list faster than the read budget allows: the refused request
    goes again by itself after retryAfterMs and is answered; no error is shown."""
    alice = open_limited_chat("alice", fresh_room("rl"))
    page = alice.page
    page.wait_for_timeout(3500)  # past the page's own late catch-up (a read too)
    page.evaluate(
        """() => {
          const socket = window.__sockets.at(-1);
          const send = socket.send.bind(socket);
          window.__sent = [];
          socket.send = (data) => { window.__sent.push(JSON.parse(data).action); send(data); };
        }"""
    )
    counts = """() => {
      const frames = window.__frames.map((f) => JSON.parse(f));
      return { asked: window.__sent.filter((a) => a === "members").length,
               answered: frames.filter((f) => f.type === "members").length,
               refused: frames.filter((f) => f.code === "rate_limited").length };
    }"""
    answered_before = page.evaluate(counts)["answered"]
    for _ in range(5):
        page.click("#members-refresh")
    page.wait_for_function(f"() => ({counts})().refused > 0", timeout=5000)
    # Asked again by itself, and in the end every request was answered or refused.
    page.wait_for_function(
        f"""() => {{
          const c = ({counts})();
          return c.asked > 5 && c.answered - {answered_before} + c.refused === c.asked;
        }}""",
        timeout=10000,
    )
    assert page.locator(".notice--error").count() == 0
