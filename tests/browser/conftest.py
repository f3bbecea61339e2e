"""Fixtures for the browser tests: one local stack, one headless Chromium, chat pages.

Each page gets its own browser context (so its own localStorage, like a separate
person) and an init script that records the page's WebSockets and the frames
they receive. Init scripts are injected by the DevTools protocol, not by the
page, so the page's Content-Security-Policy does not apply to them; tests use
them to reach past the UI (force an over-long frame, replay a frame).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import boto3
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from local_stack.browser import CHROMIUM_ARGS
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.conftest import require_tool
from tests.local_stack.support import fresh_room, room_connections

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"

# Fast reconnects so a dropped socket comes back within a second.
FAST_TIMINGS = {"reconnect_base_ms": "100", "reconnect_cap_ms": "400"}

RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__frames = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
      this.addEventListener("message", (event) => window.__frames.push(event.data));
    }
  };
})();
"""

# Every value the page writes to localStorage or sessionStorage, sent to the test as it is
# written (``record_storage_writes``), so a token stored for a moment is caught too.
RECORD_STORAGE_WRITES = """
(() => {
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    window.__storageWrite(`${key}=${value}`);
    return setItem.call(this, key, value);
  };
})();
"""
# A JWS compact JWT: header and payload are JSON objects (base64url "eyJ..."), then a signature.
JWT_PATTERN = re.compile(r"eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+")

PHONE = {"width": 390, "height": 760}
DESKTOP = {"width": 1024, "height": 720}


@dataclass(frozen=True)
class ChatPage:
    """A chat page joined to ``room`` as ``name``."""

    page: Page
    name: str
    room: str

    def send(self, text: str) -> None:
        """Type ``text`` and press Enter, as a person would."""
        self.page.fill("#text", text)
        self.page.press("#text", "Enter")

    def messages_with_text(self, text: str) -> list[dict[str, str | bool]]:
        """Every shown message whose text is exactly ``text``."""
        result: list[dict[str, str | bool]] = self.page.evaluate(
            """(text) => [...document.querySelectorAll("#messages .message")]
                .filter((m) => m.querySelector(".message__text").textContent === text)
                .map((m) => ({
                  from: m.querySelector(".message__from").textContent,
                  own: m.classList.contains("message--own"),
                }))""",
            text,
        )
        return result

    def message_texts(self) -> list[str]:
        """The texts of every shown message, top to bottom (being sent or not)."""
        texts: list[str] = self.page.evaluate(
            """() => [...document.querySelectorAll("#messages .message__text")]
                .map((node) => node.textContent)"""
        )
        return texts

    def wait_for_message(self, text: str, timeout_ms: float = 5000) -> None:
        """Wait until a delivered message (one with a server id) with exactly ``text`` is shown.

        A message the page itself is still sending is shown at once, without an id: it
        does not count until the server's copy has arrived.
        """
        self.page.wait_for_function(
            """(text) => [...document.querySelectorAll("#messages .message[data-id]")]
                .some((node) => node.querySelector(".message__text").textContent === text)""",
            arg=text,
            timeout=timeout_ms,
        )

    def wait_for_notice(self, words: str, timeout_ms: float = 5000) -> None:
        """Wait until a system notice containing ``words`` is shown."""
        self.page.wait_for_function(
            """(words) => [...document.querySelectorAll("#messages .notice")]
                .some((node) => node.textContent.includes(words))""",
            arg=words,
            timeout=timeout_ms,
        )

    def screenshot(self, file_name: str) -> Path:
        """Save a screenshot under test-artifacts/screenshots/ and return its path."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / file_name
        self.page.screenshot(path=str(path))
        return path


OpenChat = Callable[..., ChatPage]


def record_storage_writes(context: BrowserContext) -> list[str]:
    """Every ``key=value`` the pages of ``context`` write to web storage, from now on (across
    reloads and navigations); call before opening its pages."""
    writes: list[str] = []

    def record(text: str) -> None:
        writes.append(text)

    context.expose_function("__storageWrite", record)
    context.add_init_script(RECORD_STORAGE_WRITES)
    return writes


def jwts_in(page: Page, writes: list[str]) -> list[str]:
    """The JWTs in the page's localStorage, sessionStorage and cookies now, and in ``writes``."""
    stored: list[str] = page.evaluate(
        """() => [localStorage, sessionStorage].flatMap((storage) =>
            Object.keys(storage).map((key) => `${key}=${storage.getItem(key)}`))
            .concat([document.cookie])"""
    )
    return [match for text in stored + writes for match in JWT_PATTERN.findall(text)]


def connection_of(stack: Stack, room: str, name: str) -> str:
    """The id of the one connection ``name`` has open in ``room``, read from DynamoDB."""
    mine = [cid for member, cid in room_connections(stack, room) if member == name]
    assert len(mine) == 1, f"expected one connection of {name} in {room}, found {mine}"
    return mine[0]


def drop_connection(stack: Stack, room: str, name: str) -> str:
    """Delete the connection of ``name`` in ``room`` through @connections; return its id."""
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.management_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    connection_id = connection_of(stack, room, name)
    management.delete_connection(ConnectionId=connection_id)
    return connection_id


# Every page of every test connects from 127.0.0.1, and refused pages keep retrying: the
# per-source connect limit (60 a minute by default) would refuse unrelated tests' pages.
# Package scope, not session: while Playwright's sync driver runs, the main thread has a running
# event loop, and every later test that calls asyncio.run() (emulator, e2e, rehearsal) would fail.
@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    """The local stack (emulator, Lambda code, local DynamoDB, the site); the rate limits are
    lifted, since tests fill rooms with a hundred messages at once, and so is the connect
    limit (``LIFTED_RATE_LIMITS``)."""
    options = StackOptions(port=0, function=FunctionSettings(environment=LIFTED_RATE_LIMITS))
    with running_stack(options) as running:
        yield running


@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    """The Playwright driver."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    executable = require_tool("chromium", "the browser tests drive a real Chromium")
    launched = playwright_session.chromium.launch(
        executable_path=executable, args=list(CHROMIUM_ARGS)
    )
    yield launched
    launched.close()


@pytest.fixture
def page_at_site(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A fresh page at the site, for importing its modules."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(stack.page_url)
    yield page
    context.close()


@pytest.fixture
def room() -> str:
    """A room no other test uses."""
    return fresh_room("t")


@contextmanager
def chat_opener(browser: Browser, stack: Stack, site: str | None = None) -> Iterator[OpenChat]:
    """Open chat pages on ``stack`` (its page, or the same site served at ``site``), each in its
    own browser context unless it is another tab of a page's; close them all after, and fail if
    a page raised an uncaught error."""
    contexts = []
    errors: list[str] = []

    def opener(
        name: str,
        room: str,
        *,
        viewport: dict[str, int] | None = None,
        color_scheme: str = "light",
        params: dict[str, str] | None = None,
        connected: bool = True,
        tab_of: ChatPage | None = None,
    ) -> ChatPage:
        if tab_of is not None:  # the same person: the same storage
            context = tab_of.page.context
        else:
            context = browser.new_context(
                viewport=viewport or DESKTOP,  # type: ignore[arg-type]
                color_scheme=color_scheme,  # type: ignore[arg-type]
            )
            contexts.append(context)
        page = context.new_page()
        page.add_init_script(RECORD_SOCKETS)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site or stack.page_url}?{urlencode(params or FAST_TIMINGS)}")
        page.fill("#name", name)
        page.fill("#room", room)
        page.click("#join-form button[type=submit]")
        chat = ChatPage(page=page, name=name, room=room)
        if connected:
            chat.wait_for_notice(f"Connected to room {room} as {name}.")
        return chat

    yield opener
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def open_chat(browser: Browser, stack: Stack) -> Iterator[OpenChat]:
    """Open a chat page, join ``room`` as ``name`` through the form, wait for the connection
    (``connected=False``: do not wait, the join may be refused)."""
    with chat_opener(browser, stack) as opener:
        yield opener
