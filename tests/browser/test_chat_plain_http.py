"""The page served over plain http, as ``hosting_mode = "s3-website"`` serves it: not a secure
context, so the browser gives it no ``crypto.subtle`` and no ``crypto.randomUUID``. Chromium
treats 127.0.0.1 and localhost as secure, so the page comes from a second server, as a bucket's
website would, under a name that Chromium resolves to the loopback (``--host-resolver-rules``);
the stack answers its own address only, so that server relays the stack's rendered site."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat.config import EnvVar
from playwright.sync_api import Browser, Playwright

from local_stack.browser import CHROMIUM_ARGS
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.browser.conftest import chat_opener
from tests.conftest import require_tool

PLAIN_HOST = "chat.plain-http.test"


@pytest.fixture(scope="module")
def plain_stack() -> Iterator[Stack]:
    """A stack that admits any page origin: its own names are loopback ones, which this page's
    is not (a deployment's ``ALLOWED_ORIGINS`` would name its bucket's website)."""
    environment = {**LIFTED_RATE_LIMITS, EnvVar.ALLOWED_ORIGINS.value: ""}
    with running_stack(
        StackOptions(port=0, function=FunctionSettings(environment=environment))
    ) as s:
        yield s


@pytest.fixture(scope="module")
def plain_browser(playwright_session: Playwright) -> Iterator[Browser]:
    """Chromium resolving ``PLAIN_HOST`` to the loopback."""
    executable = require_tool("chromium", "the browser tests drive a real Chromium")
    rules = f"--host-resolver-rules=MAP {PLAIN_HOST} 127.0.0.1"
    launched = playwright_session.chromium.launch(
        executable_path=executable, args=[*CHROMIUM_ARGS, rules]
    )
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def plain_site(plain_stack: Stack) -> Iterator[str]:
    """The stack's site, relayed by a plain http server; its URL under ``PLAIN_HOST``."""

    class Relay(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with urllib.request.urlopen(plain_stack.page_url + self.path.lstrip("/")) as answer:  # noqa: S310 -- the stack's own http URL
                body = answer.read()
                headers = [(k, v) for k, v in answer.getheaders() if k.lower() == "content-type"]
            self.send_response(200)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{PLAIN_HOST}:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_page_on_plain_http_joins_chats_and_holds_its_name_with_a_stored_key(
    plain_browser: Browser, plain_stack: Stack, plain_site: str, room: str
) -> None:
    with chat_opener(plain_browser, plain_stack, plain_site) as open_chat:
        alice = open_chat("alice", room)
        assert alice.page.evaluate("window.isSecureContext") is False
        assert alice.page.evaluate("typeof crypto.subtle + ' ' + typeof crypto.randomUUID") == (
            "undefined undefined"
        )
        bob = open_chat("bob", room)
        alice.send("hello over plain http")
        bob.wait_for_message("hello over plain http")
        alice.wait_for_message("hello over plain http")  # acknowledged: sent with a clientId
        # Without crypto.subtle the room's key is random and stored: a second tab of the same
        # browser presents it and is admitted as alice while her first tab holds the name, where
        # another key would be refused (409, docs/protocol.md).
        key = alice.page.evaluate(f"localStorage.getItem('awsome-chat:key:{room}')")
        assert isinstance(key, str) and len(key) == 43
        second_tab = open_chat("alice", room, tab_of=alice)
        assert second_tab.page.evaluate(f"localStorage.getItem('awsome-chat:key:{room}')") == key
        intruder = open_chat("alice", room, connected=False)
        intruder.wait_for_notice("This name may be taken in this room by someone else", 10_000)
