"""Message changes in the page: edit, delete, reactions, typing, the catch-up of every change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Locator
from websockets.sync.client import ClientConnection

from local_stack.stack import Stack
from tests.browser.conftest import ChatPage, OpenChat, drop_connection
from tests.browser.test_chat_history import (
    RECONNECTED_WITHIN_MS,
    SLOW_RECONNECT,
    raw_client,
    send_and_wait,
    send_raw,
    shot,
)

pytestmark = pytest.mark.browser

# A page that reconnects only when the test clicks Join: it stays away as long as needed.
STAYS_AWAY = {"reconnect_base_ms": "120000", "reconnect_cap_ms": "120000"}
# frontend/js/typing.js: a typing line lasts TYPING_SHOWN_MS after the last `typing`.
TYPING_SHOWN_MS = 6000
TYPING_EVERY_MS = 3000


def message(chat: ChatPage, text: str) -> Locator:
    """The delivered message whose text is exactly ``text``."""
    return chat.page.locator("#messages .message[data-id]").filter(
        has=chat.page.locator(".message__text").get_by_text(text, exact=True)
    )


def focused(chat: ChatPage) -> dict[str, str | None]:
    """What has focus: its tag, its data-action, and the id of the message it is in."""
    result: dict[str, str | None] = chat.page.evaluate(
        """() => {
          const node = document.activeElement;
          return { tag: node.tagName, action: node.dataset.action ?? null,
                   id: node.closest(".message")?.dataset.id ?? null };
        }"""
    )
    return result


def chips(item: Locator) -> list[tuple[str, str, str | None]]:
    """A message's reaction chips: (emoji, count, aria-pressed)."""
    result: list[tuple[str, str, str | None]] = item.evaluate(
        """(m) => [...m.querySelectorAll("button[data-action=react]")].map((chip) => [
             chip.querySelector(".reaction__emoji").textContent,
             chip.querySelector(".reaction__count").textContent,
             chip.getAttribute("aria-pressed")])"""
    )
    return result


def wait_for_chips(
    chat: ChatPage, text: str, expected: list[tuple[str, str, str]], timeout_ms: float = 5000
) -> None:
    """Wait until the message ``text`` shows exactly the reaction chips ``expected``."""
    chat.page.wait_for_function(
        """([text, expected]) => {
          const m = [...document.querySelectorAll("#messages .message[data-id]")]
            .find((node) => node.querySelector(".message__text").textContent === text);
          if (!m) return false;
          const shown = [...m.querySelectorAll("button[data-action=react]")].map((chip) => [
            chip.querySelector(".reaction__emoji").textContent,
            chip.querySelector(".reaction__count").textContent,
            chip.getAttribute("aria-pressed")]);
          return JSON.stringify(shown) === JSON.stringify(expected);
        }""",
        arg=[text, [list(chip) for chip in expected]],
        timeout=timeout_ms,
    )


def raw_change(socket: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    """Send an editmessage, deletemessage or react frame; return the message's new state."""
    socket.send(json.dumps(frame))
    while True:
        answer: dict[str, Any] = json.loads(socket.recv(timeout=5))
        assert answer.get("type") != "error", answer
        if answer.get("type") == "message" and answer.get("id") == frame["id"]:
            return answer


def frames_of_type(chat: ChatPage, kind: str) -> list[dict[str, Any]]:
    """Every frame of type ``kind`` the page's sockets received."""
    frames: list[dict[str, Any]] = chat.page.evaluate(
        """(kind) => window.__frames.map((data) => JSON.parse(data))
             .filter((f) => f.type === kind)""",
        kind,
    )
    return frames


def test_own_message_is_edited_from_its_menu_by_keyboard_and_the_room_sees_it_edited(
    open_chat: OpenChat, room: str
) -> None:
    """Menu button, Enter, Edit, new text, Enter: all see the new text (as text) and '(edited)'."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    send_and_wait(alice, "helo wrold")
    bob.wait_for_message("helo wrold")
    send_and_wait(bob, "bob's own")
    alice.wait_for_message("bob's own")
    # Only the reader's own messages have a menu.
    assert message(alice, "bob's own").locator("button[data-action=menu]").count() == 0
    assert message(bob, "helo wrold").locator("button[data-action=menu]").count() == 0

    item = message(alice, "helo wrold")
    item_id = item.get_attribute("data-id")
    menu_button = item.locator("button[data-action=menu]")
    menu_button.focus()
    alice.page.keyboard.press("Enter")
    assert item.get_by_role("menu").is_visible()
    assert focused(alice) == {"tag": "BUTTON", "action": "edit-message", "id": item_id}
    alice.page.keyboard.press("Escape")  # closes, and focus goes back to the button
    assert item.get_by_role("menu").count() == 0
    assert focused(alice) == {"tag": "BUTTON", "action": "menu", "id": item_id}

    alice.page.keyboard.press("Enter")
    alice.page.keyboard.press("Enter")  # "Edit"
    editor = item.locator("textarea")
    assert focused(alice)["tag"] == "TEXTAREA"
    assert editor.input_value() == "helo wrold"
    new_text = "hello <b>world</b>"
    editor.fill(new_text)
    alice.page.keyboard.press("Enter")

    for chat in (alice, bob):
        chat.wait_for_message(new_text)
        edited = message(chat, new_text)
        assert edited.get_attribute("data-id") == item_id
        assert edited.locator(".message__edited").text_content() == "(edited)"
        assert (edited.locator(".message__edited").get_attribute("title") or "").startswith(
            "Edited "
        )
        assert edited.locator("b").count() == 0  # user text is text, never markup
        assert message(chat, "helo wrold").count() == 0
    assert focused(alice) == {"tag": "BUTTON", "action": "menu", "id": item_id}
    shot(bob, "edited")


def test_escape_cancels_an_edit_and_an_empty_or_unchanged_text_is_not_sent(
    open_chat: OpenChat, room: str
) -> None:
    """The editor refuses an empty text; Escape leaves the message as it was."""
    alice = open_chat("alice", room)
    send_and_wait(alice, "keep me")
    item = message(alice, "keep me")
    item.locator("button[data-action=menu]").click()
    item.get_by_role("menuitem", name="Edit").click()
    editor = item.locator("textarea")
    editor.fill("   ")
    assert item.locator(".editor__save").is_disabled()
    editor.fill("changed")
    alice.page.keyboard.press("Escape")
    assert item.locator("textarea").count() == 0
    assert item.locator(".message__text").text_content() == "keep me"
    assert frames_of_type(alice, "message")[-1]["text"] == "keep me"
    assert item.locator(".message__edited").count() == 0


def test_own_message_is_deleted_after_a_confirm_and_the_room_sees_a_tombstone(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """Delete asks first; then every page shows 'message deleted', and the text is gone."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    send_and_wait(alice, "regrettable")
    bob.wait_for_message("regrettable")
    item_id = message(bob, "regrettable").get_attribute("data-id")

    item = message(alice, "regrettable")
    item.locator("button[data-action=menu]").click()
    item.get_by_role("menuitem", name="Delete").click()
    assert focused(alice)["action"] == "delete-cancelled"  # the safe choice has focus
    item.get_by_role("button", name="Delete").click()

    for chat in (alice, bob):
        tombstone = chat.page.locator(f'#messages .message[data-id="{item_id}"]')
        tombstone.locator(".message__text", has_text="message deleted").wait_for()
        assert "message--deleted" in (tombstone.get_attribute("class") or "")
        assert tombstone.locator("button[data-action=menu]").count() == 0
        assert tombstone.locator(".reactions").count() == 0
        assert "regrettable" not in chat.page.inner_text("#messages")
    with raw_client(stack, "dave", room) as dave:
        dave.send(json.dumps({"action": "history"}))
        page = json.loads(dave.recv(timeout=5))
    [stored] = [entry for entry in page["messages"] if entry["id"] == item_id]
    assert stored.get("deleted") is True and "text" not in stored
    shot(bob, "deleted")


def test_reactions_toggle_from_the_picker_and_chips_and_every_page_sees_the_counts(
    open_chat: OpenChat, room: str
) -> None:
    """The picker adds a reaction, a chip toggles it; counts agree, 'pressed' is the reader's."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    text = "react to me"
    send_and_wait(alice, text)
    bob.wait_for_message(text)

    # Bob, by keyboard: the picker's button, Enter, arrow to the second emoji, Enter.
    picker_button = message(bob, text).locator("button[data-action=picker]")
    picker_button.focus()
    bob.page.keyboard.press("Enter")
    assert message(bob, text).get_by_role("menu", name="Add a reaction").is_visible()
    bob.page.keyboard.press("ArrowRight")
    bob.page.keyboard.press("Enter")
    wait_for_chips(bob, text, [("❤️", "1", "true")])
    wait_for_chips(alice, text, [("❤️", "1", "false")])

    # Alice joins in from the chip, then adds another from the picker.
    message(alice, text).locator("button[data-action=react]").click()
    wait_for_chips(alice, text, [("❤️", "2", "true")])
    wait_for_chips(bob, text, [("❤️", "2", "true")])
    message(alice, text).locator("button[data-action=picker]").click()
    message(alice, text).get_by_role("menuitem", name="👍").click()
    wait_for_chips(alice, text, [("❤️", "2", "true"), ("👍", "1", "true")])
    wait_for_chips(bob, text, [("❤️", "2", "true"), ("👍", "1", "false")])

    # Bob takes his back.
    message(bob, text).locator('button[data-action=react][data-emoji="❤️"]').click()
    wait_for_chips(bob, text, [("❤️", "1", "false"), ("👍", "1", "false")])
    wait_for_chips(alice, text, [("❤️", "1", "true"), ("👍", "1", "true")])
    shot(alice, "reactions")

    # A page loaded now reads them as they are, with its own.
    carol = open_chat("carol", room)
    carol.wait_for_message(text)
    wait_for_chips(carol, text, [("❤️", "1", "false"), ("👍", "1", "false")])


def test_typing_shows_a_line_to_the_others_until_the_message_or_a_quiet_spell(
    open_chat: OpenChat, room: str
) -> None:
    """'alice is typing…' for bob, never for alice; gone when her message arrives or she stops."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    carol = open_chat("carol", room)

    alice.page.locator("#text").press_sequentially("hello there", delay=50)
    bob.page.wait_for_function(
        "() => document.querySelector('#typing').textContent === 'alice is typing…'"
    )
    assert alice.page.text_content("#typing") == ""
    # Alice's last keystroke (and so her last `typing`) comes before carol's and her message.
    carol.page.locator("#text").press_sequentially("yo", delay=50)
    bob.page.wait_for_function(
        "() => document.querySelector('#typing').textContent === 'alice and carol are typing…'"
    )
    alice.page.press("#text", "Enter")
    bob.wait_for_message("hello there")
    bob.page.wait_for_function(
        "() => document.querySelector('#typing').textContent === 'carol is typing…'"
    )
    # Carol stopped: her line goes a few seconds after her last keystroke.
    bob.page.wait_for_function(
        "() => document.querySelector('#typing').textContent === ''",
        timeout=TYPING_SHOWN_MS + 3000,
    )


def test_typing_is_sent_at_most_every_few_seconds_and_never_for_an_empty_composer(
    open_chat: OpenChat, room: str
) -> None:
    """Seven seconds of keystrokes make at most three `typing` frames; an empty box makes none."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    for n in range(28):
        alice.page.locator("#text").press_sequentially("ab"[n % 2])
        alice.page.wait_for_timeout(250)
    alice.page.fill("#text", "")
    alice.page.locator("#text").press("Backspace")
    bob.page.wait_for_timeout(1000)
    received = frames_of_type(bob, "typing")
    assert 1 <= len(received) <= 7000 // TYPING_EVERY_MS + 1
    assert {frame["name"] for frame in received} == {"alice"}
    assert frames_of_type(alice, "typing") == []


def test_a_dropped_page_catches_up_an_edit_a_delete_and_a_new_message_with_a_divider(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """After @connections deletes its socket, the page shows what changed meanwhile, no reload."""
    alice = open_chat("alice", room, params=SLOW_RECONNECT)
    with raw_client(stack, "carol", room) as carol:
        first = send_raw(carol, "to be edited")
        second = send_raw(carol, "to be deleted")
        send_raw(carol, "left alone")
        alice.wait_for_message("left alone")

        drop_connection(stack, room, "alice")
        alice.wait_for_notice("Connection lost. Reconnecting")
        raw_change(carol, {"action": "editmessage", "id": first["id"], "text": "edited meanwhile"})
        raw_change(carol, {"action": "deletemessage", "id": second["id"]})
        send_raw(carol, "new meanwhile")
        assert alice.page.get_attribute("#status", "data-state") == "waiting"
        assert alice.message_texts() == ["to be edited", "to be deleted", "left alone"]

        alice.wait_for_notice("Reconnected.", timeout_ms=RECONNECTED_WITHIN_MS)
        alice.wait_for_message("new meanwhile")
        alice.wait_for_message("edited meanwhile")
    expected = ["edited meanwhile", "message deleted", "left alone", "new meanwhile"]
    assert alice.message_texts() == expected
    assert message(alice, "edited meanwhile").locator(".message__edited").count() == 1
    # The divider sits right above the first message the catch-up brought.
    above: str = alice.page.evaluate(
        """() => document.querySelector("#messages .divider").nextElementSibling
             .querySelector(".message__text").textContent"""
    )
    assert above == "new meanwhile"
    assert alice.page.locator("#messages .divider").count() == 1
    # The catch-up asked by `since`, and the late one 3 s later repeats nothing.
    assert frames_of_type(alice, "changes")
    alice.page.wait_for_timeout(3500)
    assert alice.message_texts() == expected
    shot(alice, "caught-up")


def test_a_page_away_for_more_than_a_page_of_changes_catches_up_with_all_of_them(
    open_chat: OpenChat, room: str, stack: Stack
) -> None:
    """Seventy new messages and an edit while away: all shown once, in order, over several pages."""
    alice = open_chat("alice", room, params=STAYS_AWAY)
    with raw_client(stack, "carol", room) as carol:
        old = send_raw(carol, "old one")
        alice.wait_for_message("old one")
        drop_connection(stack, room, "alice")
        alice.wait_for_notice("Connection lost. Reconnecting")
        texts = [f"missed {n:03}" for n in range(70)]
        for text in texts:
            send_raw(carol, text)
        raw_change(carol, {"action": "editmessage", "id": old["id"], "text": "old one, edited"})
        raw_change(carol, {"action": "react", "id": old["id"], "emoji": "🎉"})
        assert alice.page.get_attribute("#status", "data-state") == "waiting"
    alice.page.click("#join-form button[type=submit]")  # same name and room: reconnect now
    delivered = "() => document.querySelectorAll('#messages .message[data-id]').length"
    alice.page.wait_for_function(f"() => ({delivered})() === 71", timeout=15_000)
    alice.wait_for_message("old one, edited")
    wait_for_chips(alice, "old one, edited", [("🎉", "1", "false")])
    assert alice.message_texts() == ["old one, edited", *texts]
    pages = frames_of_type(alice, "changes")
    assert len(pages) >= 2 and pages[0]["more"] is True
    above: str = alice.page.evaluate(
        """() => document.querySelector("#messages .divider").nextElementSibling
             .querySelector(".message__text").textContent"""
    )
    assert above == texts[0]
    alice.page.wait_for_timeout(3500)
    assert alice.message_texts() == ["old one, edited", *texts]


def test_a_message_of_the_same_name_from_another_browser_cannot_be_edited_and_the_page_says_why(
    open_chat: OpenChat, room: str
) -> None:
    """Another browser that takes the name later offers the menu, but the server refuses."""
    first = open_chat("alice", room)
    send_and_wait(first, "from the first browser")
    first.page.close()  # the name is free again, but the message stays the first key's
    later = open_chat("alice", room, connected=False)
    later.wait_for_notice(f"Connected to room {room} as alice.", timeout_ms=15_000)
    later.wait_for_message("from the first browser")
    item = message(later, "from the first browser")
    item.locator("button[data-action=menu]").click()
    item.get_by_role("menuitem", name="Edit").click()
    item.locator("textarea").fill("not mine to change")
    later.page.keyboard.press("Enter")
    later.wait_for_notice("Only the person who sent a message can change it.")
    assert later.message_texts() == ["from the first browser"]


def test_a_reaction_arriving_while_the_reader_edits_keeps_the_draft_and_the_caret(
    open_chat: OpenChat, room: str
) -> None:
    """The message is drawn again with the new reaction; the editor, its draft and focus stay."""
    alice = open_chat("alice", room)
    bob = open_chat("bob", room)
    send_and_wait(alice, "being edited")
    bob.wait_for_message("being edited")
    item = message(alice, "being edited")
    item.locator("button[data-action=menu]").click()
    item.get_by_role("menuitem", name="Edit").click()
    alice.page.keyboard.type(" with a draft")
    message(bob, "being edited").locator("button[data-action=picker]").click()
    message(bob, "being edited").get_by_role("menuitem", name="👍").click()
    wait_for_chips(alice, "being edited", [("👍", "1", "false")])
    assert focused(alice)["tag"] == "TEXTAREA"
    alice.page.keyboard.type("!")
    assert item.locator("textarea").input_value() == "being edited with a draft!"
    alice.page.keyboard.press("Enter")
    bob.wait_for_message("being edited with a draft!")
