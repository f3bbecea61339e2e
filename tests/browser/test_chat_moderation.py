"""Moderation in the page: a moderator's menu on a message and on the member list (delete
someone's message, mute with a duration, kick, ban, lift), the muted reader's view, a kicked or
banned page that stops reconnecting, and a reader who is no moderator sees none of it. The
open chat's moderator signs in with the deployment's secret (kept in memory only)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from chat.config import EnvVar
from playwright.sync_api import Browser, Locator

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.browser.conftest import FAST_TIMINGS, RECORD_SOCKETS, ChatPage, OpenChat, chat_opener
from tests.browser.test_chat_history import send_and_wait, shot
from tests.browser.test_chat_signin import PASSWORD, join_room, sign_in
from tests.local_stack.support import fresh_room, plain_username, sign_in_options

pytestmark = pytest.mark.browser

SECRET = "correct horse battery staple"
BLOCKED = "spamword"
# Reconnects that would come back within a second if the page let them.
FAST = {"reconnect_base_ms": "100", "reconnect_cap_ms": "400"}


@pytest.fixture(scope="module")
def moderated_stack() -> Iterator[Stack]:
    """An open-chat stack whose deployment set a moderator secret (its digest only) and a word
    filter that refuses ``BLOCKED``."""
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    environment = {
        **LIFTED_RATE_LIMITS,
        EnvVar.MODERATOR_SECRET_SHA256: digest,
        EnvVar.BLOCKED_WORDS: json.dumps([BLOCKED]),
    }
    options = StackOptions(port=0, function=FunctionSettings(environment=environment))
    with running_stack(options) as running:
        yield running


@pytest.fixture(scope="module")
def signin_stack() -> Iterator[Stack]:
    """A stack with sign-in (moto's Cognito, its ``moderators`` group), the real authorizer."""
    with running_stack(sign_in_options()) as running:
        yield running


@pytest.fixture
def open_moderated(browser: Browser, moderated_stack: Stack) -> Iterator[OpenChat]:
    """Open chat pages on the moderated stack (``conftest.chat_opener``)."""
    with chat_opener(browser, moderated_stack) as opener:
        yield opener


def become_moderator(chat: ChatPage, secret: str = SECRET) -> None:
    """Open the moderator sign-in, type the secret, press Enter."""
    page = chat.page
    page.click("#moderator-sign-in summary")
    page.fill("#moderator-secret", secret)
    page.press("#moderator-secret", "Enter")


def message(chat: ChatPage, text: str) -> Locator:
    """The delivered message whose text is exactly ``text``."""
    return chat.page.locator("#messages .message[data-id]").filter(
        has=chat.page.locator(".message__text").get_by_text(text, exact=True)
    )


def menu_items(chat: ChatPage) -> list[str]:
    """The words of the open menu's items."""
    items: list[str] = chat.page.locator("[role=menu] [role=menuitem]").all_text_contents()
    return items


def open_member_menu(chat: ChatPage, name: str) -> None:
    """Open the member panel (if closed) and the moderation menu of ``name``, by keyboard."""
    page = chat.page
    if page.get_attribute("#members-toggle", "aria-expanded") != "true":
        page.click("#members-toggle")
    button = page.locator(f'.member__moderate[aria-label="Moderate {name}"]')
    button.wait_for()
    button.focus()
    page.keyboard.press("Enter")


def socket_count(chat: ChatPage) -> int:
    """How many WebSockets the page has opened."""
    count: int = chat.page.evaluate("() => window.__sockets.length")
    return count


def test_a_reader_who_is_no_moderator_sees_no_moderator_actions(
    open_moderated: OpenChat, open_chat: OpenChat, room: str
) -> None:
    """No menu on another's message, no actions in the member list, no badge; a wrong secret is
    refused in words; and a deployment without a secret offers no moderator sign-in."""
    alice = open_moderated("alice", room)
    bob = open_moderated("bob", room)
    send_and_wait(bob, "hello from bob")
    alice.wait_for_message("hello from bob")
    assert message(alice, "hello from bob").locator("button[data-action=menu]").count() == 0
    alice.page.locator(".member__name", has_text="bob").wait_for()  # the panel is open on desktop
    assert alice.page.locator(".member__moderate").count() == 0
    assert alice.page.is_visible("#moderator-sign-in")
    become_moderator(alice, "not the secret")
    alice.wait_for_notice("That moderator secret was not accepted.")
    assert not alice.page.is_visible("#moderator-badge")
    assert alice.page.locator(".member__moderate").count() == 0

    plain = open_chat("carol", room)
    assert not plain.page.is_visible("#moderator-sign-in")


def test_a_message_the_word_filter_refuses_says_why_and_goes_back_to_the_box_to_edit(
    open_moderated: OpenChat, room: str
) -> None:
    """A blocked word: the message is not sent, says why, and offers Edit (not Retry), which
    puts its text back in the composer."""
    bob = open_moderated("bob", room)
    bob.send(f"buy {BLOCKED.upper()} now")
    failed = bob.page.locator(".message--failed")
    failed.locator(".message__detail", has_text="a word this chat does not allow").wait_for()
    failed.locator("button[data-action=edit]").click()
    assert bob.page.input_value("#text") == f"buy {BLOCKED.upper()} now"
    assert bob.page.locator(".message--failed").count() == 0


def test_a_moderator_deletes_someones_message_from_its_menu_by_keyboard(
    open_moderated: OpenChat, room: str
) -> None:
    """The moderator's menu on bob's message offers Delete, Mute…, Kick, Ban…; Delete and its
    confirm leave a tombstone everyone reads as removed by a moderator. The secret is never
    written to storage or the URL."""
    mo = open_moderated("mo", room)
    bob = open_moderated("bob", room)
    send_and_wait(bob, "buy cheap stuff")
    mo.wait_for_message("buy cheap stuff")
    become_moderator(mo)
    mo.page.wait_for_selector("#moderator-badge", state="visible")
    mo.wait_for_notice("You are a moderator in this room")
    stored = mo.page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert SECRET not in stored
    assert SECRET not in mo.page.url
    urls = mo.page.evaluate("() => window.__sockets.map((s) => s.url)")
    assert all(SECRET not in url for url in urls)

    menu = message(mo, "buy cheap stuff").locator("button[data-action=menu]")
    menu.focus()
    mo.page.keyboard.press("Enter")
    assert menu_items(mo) == ["Delete", "Mute…", "Kick", "Ban…"]
    mo.page.keyboard.press("Enter")  # Delete, the first item, has focus
    mo.page.locator(".message__confirm button[data-action=delete-confirmed]").click()
    for chat in (mo, bob):
        chat.page.wait_for_function(
            """() => [...document.querySelectorAll("#messages .message--deleted .message__text")]
                .some((node) => node.textContent === "removed by a moderator")"""
        )
    assert "buy cheap stuff" not in bob.message_texts()


def test_a_moderator_mutes_from_a_message_and_the_muted_reader_sees_until_when(
    open_moderated: OpenChat, room: str
) -> None:
    """Mute… on bob's message with 10 minutes (the confirm survives bob reacting meanwhile):
    the room sees the notice; bob sees the line under the composer with the end in local time
    and cannot send; after a reload (the page no longer knows) bob's message is refused with
    the reason; lifting the mute frees the composer."""
    mo = open_moderated("mo", room)
    bob = open_moderated("bob", room)
    become_moderator(mo)
    mo.page.wait_for_selector("#moderator-badge", state="visible")
    send_and_wait(bob, "shouting")
    mo.wait_for_message("shouting")

    message(mo, "shouting").locator("button[data-action=menu]").click()
    mo.page.locator("[role=menuitem]", has_text="Mute…").click()
    prompt = mo.page.locator(".moderation-prompt")
    assert prompt.locator("select option").all_text_contents() == [
        "for 10 minutes",
        "for 1 hour",
        "for 1 day",
        "for 7 days",
        "Lift the mute",
    ]
    prompt.locator("select").select_option("3600")
    # bob reacts meanwhile: the message is drawn again, and the confirm stays as it was.
    message(bob, "shouting").locator("button[data-action=picker]").click()
    bob.page.locator(".picker__emoji").first.click()
    message(mo, "shouting").locator("button[data-action=react]").wait_for()
    assert prompt.locator("select").input_value() == "3600"
    assert mo.page.evaluate("() => document.activeElement.tagName") == "SELECT"
    prompt.locator("select").select_option("600")
    prompt.locator("button[type=submit]").click()
    mo.wait_for_notice("bob was muted by a moderator until")
    bob.wait_for_notice("A moderator muted you until")
    line = bob.page.locator("#composer-muted")
    line.wait_for(state="visible")
    until_words = bob.page.evaluate(
        """() => { const f = window.__frames.map((d) => JSON.parse(d))
                     .find((x) => x.type === "moderation" && x.event === "muted");
                   return new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit"})
                     .format(new Date(f.until)); }"""
    )
    assert until_words in (line.text_content() or "")
    bob.page.fill("#text", "let me speak")
    assert bob.page.is_disabled("#send")
    shot(bob, "moderation-muted")

    bob.page.reload()
    bob.page.fill("#name", "bob")
    bob.page.fill("#room", room)
    bob.page.click("#join-form button[type=submit]")
    bob.wait_for_notice(f"Connected to room {room} as bob.")
    bob.send("still here")
    refused = bob.page.locator(".message--failed .message__detail")
    refused.filter(has_text="A moderator muted you").wait_for()
    bob.page.locator("#composer-muted").wait_for(state="visible")
    assert until_words in (bob.page.text_content("#composer-muted") or "")

    open_member_menu(mo, "bob")
    mo.page.keyboard.press("Enter")  # Mute…
    mo.page.locator(".moderation-prompt select").select_option("0")
    mo.page.locator(".moderation-prompt button[type=submit]").click()
    bob.wait_for_notice("A moderator lifted your mute")
    bob.page.locator("#composer-muted").wait_for(state="hidden")
    send_and_wait(bob, "thank you")


def test_a_moderator_kicks_then_bans_from_the_member_list_and_the_page_stops(
    open_moderated: OpenChat, room: str
) -> None:
    """Kick from the member list (keyboard, confirm, which survives carol joining meanwhile):
    bob's page says so and stays out until he joins again; Ban… for an hour: bob's page says
    banned and does not reconnect into the ban; the others see both notices; lifting the ban
    from his old message's menu lets him back."""
    mo = open_moderated("mo", room)
    bob = open_moderated("bob", room, params=FAST)
    become_moderator(mo)
    mo.page.wait_for_selector("#moderator-badge", state="visible")
    send_and_wait(bob, "before the kick")
    mo.wait_for_message("before the kick")

    open_member_menu(mo, "bob")
    assert menu_items(mo) == ["Mute…", "Kick", "Ban…"]
    mo.page.keyboard.press("ArrowDown")
    mo.page.keyboard.press("Enter")  # Kick
    prompt = mo.page.locator(".moderation-prompt")
    assert "Kick bob" in (prompt.text_content() or "")
    # carol joins meanwhile: the list is drawn again, and the confirm stays, focused.
    open_moderated("carol", room)
    mo.page.locator(".member__name", has_text="carol").wait_for()
    assert prompt.count() == 1
    assert mo.page.evaluate("() => document.activeElement.textContent") == "Kick"
    mo.page.keyboard.press("Enter")
    mo.wait_for_notice("bob was removed from the room by a moderator.")
    bob.wait_for_notice("A moderator removed you from this room.")
    opened = socket_count(bob)
    bob.page.wait_for_timeout(1500)
    assert socket_count(bob) == opened, "a kicked page does not reconnect by itself"
    assert bob.page.text_content("#status-text") == "Removed"

    bob.page.locator(".notice__action", has_text="Join again").click()
    bob.page.wait_for_function("(n) => window.__sockets.length > n", arg=opened)
    bob.page.wait_for_selector("#status[data-state=open]")
    mo.page.locator(".member__name", has_text="bob").wait_for()

    open_member_menu(mo, "bob")
    mo.page.locator("[role=menuitem]", has_text="Ban…").click()
    mo.page.locator(".moderation-prompt select").select_option("3600")
    mo.page.locator(".moderation-prompt button[type=submit]").click()
    mo.wait_for_notice("bob was banned from the room by a moderator until")
    bob.wait_for_notice("will not reconnect")
    opened = socket_count(bob)
    bob.page.wait_for_timeout(1500)
    assert socket_count(bob) == opened, "a banned page does not reconnect into the ban"
    assert bob.page.text_content("#status-text") == "Banned"
    shot(bob, "moderation-banned")

    # bob is gone from the list; his old message's menu lifts the ban, and he may join again.
    message(mo, "before the kick").locator("button[data-action=menu]").click()
    mo.page.locator("[role=menuitem]", has_text="Ban…").click()
    mo.page.locator(".moderation-prompt select").select_option("0")
    mo.page.locator(".moderation-prompt button[type=submit]").click()
    mo.wait_for_notice("bob's ban was lifted.")
    opened = socket_count(bob)
    bob.page.click("#join-form button[type=submit]")
    bob.page.wait_for_function("(n) => window.__sockets.length > n", arg=opened)
    bob.page.wait_for_selector("#status[data-state=open]")
    send_and_wait(bob, "back again")


def test_with_sign_in_the_groups_moderator_gets_the_menus_and_no_secret_form(
    browser: Browser, signin_stack: Stack
) -> None:
    """A user in the pool's moderators group is told so by the server (no secret, no sign-in
    form for one): the badge, a menu on the other user's message, actions in the member list;
    the other user, signed in too, gets none; the moderator deletes the other's message."""
    pool = signin_stack.user_pool
    assert pool is not None
    moderator, member = plain_username("mod"), plain_username("mem")
    for username in (moderator, member):
        pool.create_user(username, PASSWORD)
    pool.make_moderator(moderator)
    room = fresh_room("modsignin")
    contexts = []
    chats = {}
    try:
        for username in (moderator, member):
            context = browser.new_context()
            contexts.append(context)
            page = context.new_page()
            page.add_init_script(RECORD_SOCKETS)
            page.goto(f"{signin_stack.page_url}?{urlencode(FAST_TIMINGS)}")
            assert not page.is_visible("#moderator-sign-in")
            sign_in(page, username, PASSWORD)
            chats[username] = join_room(page, room, username)
        mod, mem = chats[moderator], chats[member]
        mod.page.wait_for_selector("#moderator-badge", state="visible")
        assert not mem.page.is_visible("#moderator-badge")
        send_and_wait(mem, "a signed-in message")
        mod.wait_for_message("a signed-in message")
        send_and_wait(mod, "the moderator's word")
        mem.wait_for_message("the moderator's word")
        assert message(mem, "the moderator's word").locator("button[data-action=menu]").count() == 0
        mem.page.locator(".member__name", has_text=moderator).wait_for()
        assert mem.page.locator(".member__moderate").count() == 0
        mod.page.locator(f'.member__moderate[aria-label="Moderate {member}"]').wait_for()

        message(mod, "a signed-in message").locator("button[data-action=menu]").click()
        assert menu_items(mod) == ["Delete", "Mute…", "Kick", "Ban…"]
        mod.page.locator("[role=menuitem]", has_text="Delete").click()
        mod.page.locator(".message__confirm button[data-action=delete-confirmed]").click()
        mem.page.wait_for_function(
            """() => [...document.querySelectorAll("#messages .message--deleted .message__text")]
                .some((node) => node.textContent === "removed by a moderator")"""
        )
    finally:
        for context in contexts:
            context.close()
