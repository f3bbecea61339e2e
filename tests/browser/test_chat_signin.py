"""Sign-in in the real browser (issue #17): sign in, chat, reload (still signed in), sign out;
sign up with a confirmation code. The stack runs in sign-in mode against moto's Cognito.
The real authorizer (``backend/authorizer``) and chat (``AUTH_MODE=cognito``) run behind it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page

from local_stack.cognito import COGNITO_PATH
from local_stack.stack import Stack, running_stack
from tests.browser.conftest import FAST_TIMINGS, RECORD_SOCKETS, ChatPage
from tests.local_stack.support import fresh_room, plain_username, sign_in_options

PASSWORD = "Passw0rd!long-enough"
SPOIL_NEXT_TOKEN = """
(() => {
  const Recorded = window.WebSocket;
  window.WebSocket = class extends Recorded {
    constructor(url, protocols) {
      if (window.__spoil && protocols) {
        window.__spoil = false;
        protocols = [protocols[0], "x.y.z"];
      }
      super(url, protocols);
    }
  };
})();
"""


@pytest.fixture(scope="module")
def signin_stack() -> Iterator[Stack]:
    """A stack in sign-in mode, with the real authorizer and chat."""
    with running_stack(sign_in_options()) as running:
        yield running


@pytest.fixture
def new_page(browser: Browser, signin_stack: Stack) -> Iterator[Page]:
    """A fresh browser context (its own localStorage) at the page; fails on page errors."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_SOCKETS)
    page.goto(f"{signin_stack.page_url}?{urlencode(FAST_TIMINGS)}")
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def join_room(page: Page, room: str, name: str) -> ChatPage:
    """Join ``room`` through the join form (signed in: the room only) and wait to connect."""
    page.fill("#room", room)
    page.click("#join-form button[type=submit]")
    chat = ChatPage(page=page, name=name, room=room)
    chat.wait_for_notice(f"Connected to room {room} as {name}.")
    return chat


def connected_to(page: Page, room: str, notice: str) -> None:
    """``join_room`` for a page with an installed clock, waiting for ``notice``: its waits poll
    on a timer, since the clock also drives animation frames (Playwright's default polling)."""
    page.fill("#room", room)
    page.click("#join-form button[type=submit]")
    page.wait_for_function(
        """(words) => [...document.querySelectorAll("#messages .notice")]
            .some((node) => node.textContent.includes(words))""",
        arg=notice,
        polling=100,
        timeout=10000,
    )


def sign_in(page: Page, username: str, password: str) -> None:
    """Fill the sign-in form and submit it; wait for the chat to show."""
    page.fill("#sign-in-username", username)
    page.fill("#sign-in-password", password)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#chat", state="visible")


def test_sign_in_chat_reload_and_sign_out(new_page: Page, signin_stack: Stack) -> None:
    """Signed out, the page offers only sign-in; signed in, it joins as the account's user
    name (not its ``name`` attribute, which users may write: issue 25), offering the token as
    a subprotocol (never in the URL), and shows messages as text; a reload resumes the
    session; signing out forgets it."""
    page = new_page
    pool = signin_stack.user_pool
    assert pool is not None
    username = plain_username("ada")
    pool.create_user(username, PASSWORD, name="Ada Lovelace")
    assert page.is_visible("#auth")
    assert not page.is_visible("#chat")
    assert not page.is_visible("#send-form")

    page.fill("#sign-in-username", username)
    page.fill("#sign-in-password", "wrong password")
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#auth-error:has-text('Wrong username or password.')")
    sign_in(page, username, PASSWORD)
    assert page.text_content("#account-name") == username
    assert not page.is_visible("#name")
    room = fresh_room("signin")
    chat = join_room(page, room, username)
    socket = page.evaluate(
        "() => { const s = window.__sockets.at(-1); return {url: s.url, protocol: s.protocol}; }"
    )
    assert socket["protocol"] == "awsome-chat"
    assert "eyJ" not in socket["url"]  # no JWT in the URL

    text = "<b>bold?</b> & more"
    chat.send(text)
    chat.wait_for_message(text)
    assert chat.messages_with_text(text) == [{"from": username, "own": True}]
    assert page.locator("#messages .message__text b").count() == 0

    page.reload()
    page.wait_for_selector("#chat", state="visible")
    chat.wait_for_notice(f"Connected to room {room} as {username}.")
    assert not page.is_visible("#auth")
    chat.wait_for_message(text)

    page.click("#sign-out")
    page.wait_for_selector("#auth", state="visible")
    assert not page.is_visible("#chat")
    assert page.evaluate("() => localStorage.getItem('awsome-chat:auth:refresh')") is None
    page.wait_for_function("() => window.__sockets.every((s) => s.readyState === WebSocket.CLOSED)")
    page.reload()
    page.wait_for_selector("#sign-in-form", state="visible")
    assert page.input_value("#sign-in-username") == username


def test_sign_up_confirm_and_join(new_page: Page) -> None:
    """Sign-up asks for the confirmation code, then signs in and joins as the new account."""
    page = new_page
    username = plain_username("grace")
    page.click("#show-sign-up")
    page.fill("#sign-up-username", username)
    page.fill("#sign-up-email", f"{username}@example.com")
    page.fill("#sign-up-password", PASSWORD)
    page.click("#sign-up-form button[type=submit]")
    page.wait_for_selector("#confirm-form", state="visible")
    page.fill("#confirm-code", "123456")  # moto confirms any code
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("#chat", state="visible")
    join_room(page, fresh_room("signup"), username)


def test_a_refused_connect_renews_the_token(browser: Browser, signin_stack: Stack) -> None:
    """When a handshake is refused (here: the token offered no longer passes) and the token is
    not fresh, the page renews its ID token with the refresh token (REFRESH_TOKEN_AUTH) and
    connects with the new one."""
    context = browser.new_context()
    page = context.new_page()
    page.clock.install()  # time runs; fast_forward moves it on
    page.add_init_script(RECORD_SOCKETS)
    # While window.__spoil is set, the next socket offers a spoiled token (then it is cleared),
    # as after an expiry the page slept through.
    page.add_init_script(SPOIL_NEXT_TOKEN)
    flows: list[str] = []
    page.on(
        "request",
        lambda request: (
            flows.append(str(json.loads(request.post_data or "{}").get("AuthFlow")))
            if request.url.endswith(COGNITO_PATH)
            else None
        ),
    )
    try:
        page.goto(f"{signin_stack.page_url}?{urlencode(FAST_TIMINGS)}")
        pool = signin_stack.user_pool
        assert pool is not None
        username = plain_username("renew")
        pool.create_user(username, PASSWORD)
        sign_in(page, username, PASSWORD)
        room = fresh_room("r")
        connected_to(page, room, f"Connected to room {room} as {username}.")
        assert flows == ["USER_PASSWORD_AUTH"]
        page.evaluate("() => { window.__spoil = true; }")
        page.clock.fast_forward(60_000)
        # Refused once, then connected on a later attempt: "Reconnected."
        connected_to(page, fresh_room("again"), "Reconnected.")
        assert page.evaluate("() => window.__spoil") is False  # the spoiled socket was tried
        assert "REFRESH_TOKEN_AUTH" in flows
    finally:
        context.close()
