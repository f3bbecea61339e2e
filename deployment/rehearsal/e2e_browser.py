"""The rehearsal's browser check (``browser_check``): two Chromium pages of the site Terraform
uploaded, joined to one room, exchanging messages; with sign-in on, each page signs its user
(``e2e_users``) in first through the page's sign-in form (the selectors below, agreed with the
page: ``SIGN_IN_FORM`` and the fields in it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from deployment.rehearsal.e2e import E2ECheckFailed, Notes, new_room
from deployment.rehearsal.e2e_users import SignedInUser, SignIn, delete_users, sign_in_users
from deployment.rehearsal.report import Problem
from local_stack.browser import CHROMIUM_ARGS

BROWSER_AREA: Final = "browser chat"
PAGE_TIMEOUT_MS: Final = 10_000
# The signed-in page's form (frontend/, issue #17): the browser check fills these.
SIGN_IN_FORM: Final = "#sign-in-form"
SIGN_IN_USERNAME: Final = "#sign-in-username"
SIGN_IN_PASSWORD: Final = "#sign-in-password"  # noqa: S105 - a CSS selector
SIGN_IN_SUBMIT: Final = "#sign-in-form button[type=submit]"

if TYPE_CHECKING:  # playwright is imported only when the browser check runs
    from playwright.sync_api import Browser, ConsoleMessage, Page
    from playwright.sync_api import Error as PlaywrightError


def browser_check(
    page_url: str,
    chromium: Path,
    timeout_ms: float = PAGE_TIMEOUT_MS,
    sign_in: SignIn | None = None,
) -> tuple[Notes, list[Problem]]:
    """Two pages of the site join one room in Chromium and exchange a message each way; with
    ``sign_in``, each signs a new user of its pool in first."""
    from playwright.sync_api import Error as PlaywrightError  # noqa: PLC0415 - heavy import
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    notes: Notes = []
    console_errors: list[str] = []
    room = new_room("browser")
    users: dict[str, SignedInUser] = {}
    try:
        if sign_in is not None:
            users.update(sign_in_users(sign_in, ("alice", "bob")))
        names = {p: users[p].name if users else p for p in ("alice", "bob")}
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=str(chromium), args=list(CHROMIUM_ARGS)
            )
            try:
                pages = {}
                for name in ("alice", "bob"):
                    pages[name] = _open_page(
                        browser,
                        page_url,
                        name,
                        room,
                        console_errors=console_errors,
                        timeout_ms=timeout_ms,
                        user=users.get(name),
                    )
                notes.append(
                    f"alice and bob opened {page_url}, "
                    + ("signed in, " if users else "")
                    + f"and joined room {room}"
                )
                for sender, reader in (("alice", "bob"), ("bob", "alice")):
                    text = f"{sender} says hi from the browser"
                    pages[sender].fill("#text", text)
                    pages[sender].press("#text", "Enter")
                    _wait_for_message(pages[reader], reader, names[sender], text, timeout_ms)
                    notes.append(f"{reader}'s page shows {sender}'s message")
            finally:
                browser.close()
    except ClientError as failed:
        return notes, [Problem(BROWSER_AREA, f"signing the test users in failed: {failed}")]
    except E2ECheckFailed as failed:
        return notes, [Problem(BROWSER_AREA, _with_console(str(failed), console_errors))]
    except PlaywrightError as error:
        message = str(error).strip().splitlines()[0]
        return notes, [Problem(BROWSER_AREA, _with_console(message, console_errors))]
    finally:
        if sign_in is not None:
            delete_users(sign_in, users.values())
    if console_errors:
        return notes, [
            Problem(BROWSER_AREA, _with_console("the pages logged errors", console_errors))
        ]
    return notes, []


def _open_page(
    browser: Browser,
    page_url: str,
    name: str,
    room: str,
    *,
    console_errors: list[str],
    timeout_ms: float,
    user: SignedInUser | None = None,
) -> Page:
    """A page of its own (a separate person), joined to ``room`` as ``name``, or, with
    ``user``, signed in as that user and joined under the name the token gives."""
    page = browser.new_context().new_page()
    page.set_default_timeout(timeout_ms)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":  # CSP violations and failed sockets show up here
            console_errors.append(f"{name}: {message.text}")

    def on_error(error: PlaywrightError) -> None:
        console_errors.append(f"{name}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    _join_page(page, page_url, name, room, timeout_ms, user=user)
    return page


def _with_console(message: str, console_errors: list[str]) -> str:
    if not console_errors:
        return message
    return f"{message}; the pages logged: {' | '.join(console_errors[:5])}"


def _sign_in_page(page: Page, name: str, user: SignedInUser, timeout_ms: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    try:
        page.wait_for_selector(SIGN_IN_FORM, state="visible")
    except PlaywrightTimeout as error:
        raise E2ECheckFailed(
            f"{name}'s page showed no sign-in form ({SIGN_IN_FORM}) within "
            f"{timeout_ms / 1000:.0f} s, although the deployment requires sign-in"
        ) from error
    page.fill(SIGN_IN_USERNAME, user.username)
    page.fill(SIGN_IN_PASSWORD, user.password)
    page.click(SIGN_IN_SUBMIT)


def _join_page(
    page: Page,
    page_url: str,
    name: str,
    room: str,
    timeout_ms: float,
    *,
    user: SignedInUser | None = None,
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    page.goto(page_url)
    if user is None:
        page.fill("#name", name)
    else:
        # Signed in, the name is the token's: the page's name field is not the check's.
        _sign_in_page(page, name, user, timeout_ms)
    page.fill("#room", room)
    page.click("#join-form button[type=submit]")
    shown = name if user is None else user.name
    connected = f"Connected to room {room} as {shown}."
    try:
        page.wait_for_function(
            """(words) => [...document.querySelectorAll("#messages .notice")]
                .some((node) => node.textContent.includes(words))""",
            arg=connected,
        )
    except PlaywrightTimeout as error:
        status = page.text_content("#status-text") or ""
        raise E2ECheckFailed(
            f"{name}'s page did not connect within {timeout_ms / 1000:.0f} s (its status says "
            f"{status.strip()!r})"
        ) from error


def _wait_for_message(page: Page, reader: str, sender: str, text: str, timeout_ms: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    try:
        page.wait_for_function(
            """([text, sender]) => [...document.querySelectorAll("#messages .message")].some(
                (m) => m.querySelector(".message__text").textContent === text
                    && m.querySelector(".message__from").textContent === sender)""",
            arg=[text, sender],
        )
    except PlaywrightTimeout as error:
        raise E2ECheckFailed(
            f"{reader}'s page did not show {sender}'s message {text!r} within "
            f"{timeout_ms / 1000:.0f} s"
        ) from error
