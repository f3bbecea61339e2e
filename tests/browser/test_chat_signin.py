"""Sign-in in the real browser (issue #17): sign in, chat, reload (still signed in), sign out;
sign up with a confirmation code; an admin-created user's first sign-in sets a password (issue
26); sign-out revokes the refresh token and no ID token is ever stored (issue 25). The stack
runs in sign-in mode against moto's Cognito.
The real authorizer (``backend/authorizer``) and chat (``AUTH_MODE=cognito``) run behind it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import Browser, Page, Route

from local_stack.cognito import COGNITO_PATH
from local_stack.stack import Stack, running_stack
from tests.browser.conftest import (
    FAST_TIMINGS,
    RECORD_SOCKETS,
    ChatPage,
    jwts_in,
    record_storage_writes,
)
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


TEMPORARY_PASSWORD = "Temp0rary!password"
# Cognito's answer to a challenge answered too late (its sessions last 3 minutes; moto's never
# end, so the test gives the page this answer itself).
EXPIRED_SESSION = {
    "__type": "NotAuthorizedException",
    "message": "Invalid session for the user, session is expired.",
}


def create_admin_user(signin_stack: Stack, username: str, name: str | None = None) -> None:
    """A user as `aws cognito-idp admin-create-user` makes one (docs/deploy.md, "Sign-in"):
    a temporary password, so FORCE_CHANGE_PASSWORD (the mail is suppressed)."""
    pool = signin_stack.user_pool
    assert pool is not None
    pool.client().admin_create_user(
        UserPoolId=pool.pool_id,
        Username=username,
        TemporaryPassword=TEMPORARY_PASSWORD,
        UserAttributes=[] if name is None else [{"Name": "name", "Value": name}],
        MessageAction="SUPPRESS",
    )


def cognito_calls(page: Page) -> list[dict[str, Any]]:
    """Every call the page makes to Cognito from now on: its operation and JSON body."""
    calls: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            calls.append(
                {
                    "operation": request.headers.get("x-amz-target", "").rsplit(".", 1)[-1],
                    "body": json.loads(request.post_data or "{}"),
                }
            )
            if request.url.endswith(COGNITO_PATH)
            else None
        ),
    )
    return calls


def test_an_admin_created_user_sets_a_password_and_chats(
    new_page: Page, signin_stack: Stack
) -> None:
    """An admin-created user's first sign-in (NEW_PASSWORD_REQUIRED) asks for a new password,
    twice, by keyboard alone: two different ones are refused by the page, one the pool's policy
    refuses shows Cognito's reason, and an accepted one (RespondToAuthChallenge with the
    challenge's Session) signs in: the user chats, and later signs in with the new password."""
    page = new_page
    calls = cognito_calls(page)
    username = plain_username("margaret")  # the chat shows a plain user name as it is
    create_admin_user(signin_stack, username, name="Margaret Hamilton")

    page.fill("#sign-in-username", username)
    page.fill("#sign-in-password", TEMPORARY_PASSWORD)
    page.press("#sign-in-password", "Enter")
    page.wait_for_selector("#new-password-form", state="visible")
    assert page.evaluate("() => document.activeElement.id") == "new-password"
    assert page.text_content("#auth-heading") == "Choose your password"
    assert not page.is_visible("#sign-in-form")
    assert not page.is_visible("#chat")
    challenge = calls[-1]
    assert challenge["operation"] == "InitiateAuth"

    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD + "x")
    page.keyboard.press("Enter")
    page.wait_for_selector("#auth-error:has-text('The two passwords are not the same.')")
    assert [call["operation"] for call in calls] == ["InitiateAuth"]

    page.fill("#new-password", "short")
    page.fill("#new-password-again", "short")
    page.press("#new-password-again", "Enter")
    # moto's wording of the policy's refusal (Cognito's says which rule), after the page's own.
    page.wait_for_selector(
        "#auth-error:has-text('This password is not allowed: The provided password does not')"
    )
    assert page.is_visible("#new-password-form")
    assert page.evaluate("() => document.activeElement.id") == "new-password"

    page.fill("#new-password", PASSWORD)
    page.fill("#new-password-again", PASSWORD)
    page.focus("#new-password-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#chat", state="visible")
    answers = [call for call in calls if call["operation"] == "RespondToAuthChallenge"]
    assert len(answers) == 2
    session = answers[-1]["body"]["Session"]
    assert isinstance(session, str) and session != ""
    assert answers[-1]["body"]["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert answers[-1]["body"]["ChallengeResponses"] == {
        "USERNAME": username,
        "NEW_PASSWORD": PASSWORD,
    }
    assert page.input_value("#new-password") == ""
    assert page.text_content("#account-name") == username
    chat = join_room(page, fresh_room("first"), username)
    chat.send("my own password now")
    chat.wait_for_message("my own password now")

    page.click("#sign-out")
    page.wait_for_selector("#sign-in-form", state="visible")
    sign_in(page, username, PASSWORD)
    assert page.text_content("#account-name") == username


def test_an_expired_password_challenge_and_cancel_go_back_to_sign_in(
    new_page: Page, signin_stack: Stack
) -> None:
    """A new password sent after the challenge expired (Cognito: NotAuthorizedException)
    returns to the sign-in form saying so; Cancel returns to it too; neither signs in."""
    page = new_page
    username = fresh_room("late")
    create_admin_user(signin_stack, username)

    def expired(route: Route) -> None:
        target = route.request.headers.get("x-amz-target", "")
        if target.endswith(".RespondToAuthChallenge"):
            route.fulfill(
                status=400,
                content_type="application/x-amz-json-1.1",
                body=json.dumps(EXPIRED_SESSION),
            )
        else:
            route.continue_()

    page.route(f"**{COGNITO_PATH}", expired)
    page.fill("#sign-in-username", username)
    page.fill("#sign-in-password", TEMPORARY_PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#new-password-form", state="visible")
    page.click("#new-password-cancel")
    page.wait_for_selector("#sign-in-form", state="visible")
    assert not page.is_visible("#new-password-form")

    page.fill("#sign-in-password", TEMPORARY_PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector("#new-password-form", state="visible")
    page.fill("#new-password", PASSWORD)
    page.fill("#new-password-again", PASSWORD)
    page.click("#new-password-form button[type=submit]")
    page.wait_for_selector("#auth-note:has-text('Setting your password took too long')")
    assert page.is_visible("#sign-in-form")
    assert not page.is_visible("#new-password-form")
    assert not page.is_visible("#chat")
    assert page.input_value("#new-password") == ""
    pool = signin_stack.user_pool
    assert pool is not None
    user = pool.client().admin_get_user(UserPoolId=pool.pool_id, Username=username)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_sign_out_revokes_and_no_id_token_is_ever_stored(
    browser: Browser, signin_stack: Stack
) -> None:
    """Sign-out sends RevokeToken with the stored refresh token and the app client's id, and
    that refresh token no longer renews anything; meanwhile (sign-in, a reload that renews, sign
    out) no JWT is ever written to localStorage, sessionStorage or a cookie: the ID token lives
    in memory, and only the refresh token is kept, for the 30-day session."""
    pool = signin_stack.user_pool
    assert pool is not None
    username = fresh_room("revoke")
    pool.create_user(username, PASSWORD)
    context = browser.new_context()
    writes = record_storage_writes(context)
    page = context.new_page()
    calls = cognito_calls(page)
    try:
        page.goto(f"{signin_stack.page_url}?{urlencode(FAST_TIMINGS)}")
        sign_in(page, username, PASSWORD)
        assert jwts_in(page, writes) == []
        # The recorder sees the page's writes (else the scans above and below prove nothing).
        assert any(write.startswith("awsome-chat:auth:refresh=") for write in writes)
        refresh = page.evaluate("() => localStorage.getItem('awsome-chat:auth:refresh')")
        assert isinstance(refresh, str) and refresh != ""
        page.reload()
        page.wait_for_selector("#chat", state="visible")
        assert "REFRESH_TOKEN_AUTH" in [call["body"].get("AuthFlow") for call in calls]
        assert jwts_in(page, writes) == []

        with page.expect_response(
            lambda response: response.request.headers.get("x-amz-target", "").endswith(
                ".RevokeToken"
            )
        ) as revoked:
            page.click("#sign-out")
        assert revoked.value.status == 200
        assert calls[-1] == {
            "operation": "RevokeToken",
            "body": {"Token": refresh, "ClientId": pool.client_id},
        }
        page.wait_for_selector("#sign-in-form", state="visible")
        assert page.text_content("#auth-note") == "You signed out."
        assert jwts_in(page, writes) == []
        with pytest.raises(ClientError, match="NotAuthorizedException"):
            pool.client().initiate_auth(
                ClientId=pool.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh},
            )
    finally:
        context.close()


def test_the_pages_words_for_password_refusals(new_page: Page) -> None:
    """auth.js: an expired temporary password is told as such (not "wrong password"); the
    pool's policy refusal carries Cognito's reason; other refusals keep their fixed words."""
    words: dict[str, str] = new_page.evaluate(
        """async () => {
          const { AuthError, describeAuthError } = await import("/js/auth.js");
          const say = (code, message) => describeAuthError(new AuthError(code, message));
          return {
            expired: say("NotAuthorizedException",
              "Temporary password has expired and must be reset by an administrator."),
            wrong: say("NotAuthorizedException", "Incorrect username or password."),
            policy: say("InvalidPasswordException",
              "Password does not conform to policy: Password not long enough"),
            late: say("challenge-expired", "Invalid session for the user, session is expired."),
          };
        }"""
    )
    assert words == {
        "expired": "Your temporary password has expired. Ask the chat's administrator to send "
        "you a new one.",
        "wrong": "Wrong username or password.",
        "policy": "This password is not allowed: Password does not conform to policy: Password "
        "not long enough",
        "late": "Setting your password took too long. Sign in again with your temporary password.",
    }
