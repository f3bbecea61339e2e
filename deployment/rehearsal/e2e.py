"""The end-to-end chat checks the rehearsal runs against the local stack built from Terraform.

``websocket_checks``: real WebSocket clients in two rooms (delivery in-room, nothing across
rooms, pong, ``$default``), the connections stored in Terraform's table, and, when the
deployment restricts origins, a foreign browser origin refused. ``browser_check``: two
Chromium pages of the site Terraform uploaded, joined to one room, exchanging messages.

Each returns what it saw (notes) and what went wrong (problems); a failed check stops the
checks that depend on it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Origin

from deployment.product import ROOM_INDEX
from deployment.rehearsal.report import Problem
from local_stack.browser import CHROMIUM_ARGS

WEBSOCKET_AREA: Final = "WebSocket chat"
BROWSER_AREA: Final = "browser chat"
FRAME_TIMEOUT_S: Final = 5.0
QUIET_S: Final = 0.5
PAGE_TIMEOUT_MS: Final = 10_000
FOREIGN_ORIGIN: Final = "https://not-the-chat.example"

if TYPE_CHECKING:  # playwright is imported only when the browser check runs
    from playwright.sync_api import Browser, ConsoleMessage, Page
    from playwright.sync_api import Error as PlaywrightError

Notes = list[str]


class CheckFailed(Exception):
    """One end-to-end expectation was not met; the message says which and what happened."""


def new_room(label: str) -> str:
    """A room name no earlier run used."""
    return f"rehearsal-{label}-{uuid.uuid4().hex[:8]}"


# --- WebSocket clients ------------------------------------------------------------------------


async def _join(ws_url: str, name: str, room: str, origin: str | None = None) -> ClientConnection:
    url = f"{ws_url}?name={name}&room={room}"
    try:
        return await connect(
            url,
            proxy=None,
            compression=None,
            open_timeout=10,
            origin=None if origin is None else Origin(origin),
        )
    except InvalidStatus as refused:
        raise CheckFailed(
            f"{name} could not join room {room}: the handshake was refused with HTTP "
            f"{refused.response.status_code} (see the function's log above)"
        ) from refused


async def _frame(ws: ClientConnection, who: str, waiting_for: str) -> dict[str, Any]:
    try:
        raw = await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_S)
    except TimeoutError as error:
        raise CheckFailed(
            f"{who} received nothing within {FRAME_TIMEOUT_S:.0f} s while waiting for {waiting_for}"
        ) from error
    except WebSocketException as error:
        raise CheckFailed(
            f"{who}'s connection failed while waiting for {waiting_for}: {error}"
        ) from error
    decoded = json.loads(raw)
    if not isinstance(decoded, dict):
        raise CheckFailed(f"{who} received {raw!r} while waiting for {waiting_for}")
    return decoded


async def _quiet(ws: ClientConnection, who: str, because: str) -> None:
    try:
        raw = await asyncio.wait_for(ws.recv(), QUIET_S)
    except TimeoutError:
        return
    raise CheckFailed(f"{who} received {raw!r}, but {because}")


def _expect_message(frame: dict[str, Any], who: str, sender: str, room: str, text: str) -> None:
    wanted = {"type": "message", "room": room, "from": sender, "text": text}
    got = {key: frame.get(key) for key in wanted}
    if got != wanted:
        raise CheckFailed(f"{who} expected {wanted} but received {frame}")


async def _send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def _room_checks(ws_url: str, notes: Notes, stored: Callable[[str], int]) -> None:
    here, there = new_room("a"), new_room("b")
    alice = await _join(ws_url, "alice", here)
    bob = await _join(ws_url, "bob", here)
    carol = await _join(ws_url, "carol", there)
    try:
        notes.append(f"alice and bob joined room {here}, carol joined room {there}")

        counts = {here: stored(here), there: stored(there)}
        if counts != {here: 2, there: 1}:
            raise CheckFailed(
                f"the table Terraform created holds {counts} connections per room, expected "
                f"{{{here!r}: 2, {there!r}: 1}}"
            )
        notes.append("the three connections are stored in the table Terraform created")

        hello = "hello from alice"
        await _send(alice, {"action": "sendmessage", "text": hello})
        for ws, who in ((alice, "alice"), (bob, "bob")):
            _expect_message(await _frame(ws, who, "alice's message"), who, "alice", here, hello)
        notes.append("sendmessage: alice's message reached alice and bob in their room")

        await _send(carol, {"action": "ping"})
        pong = await _frame(carol, "carol", "a pong")
        if pong != {"type": "pong"}:
            raise CheckFailed(f"carol expected {{'type': 'pong'}} but received {pong}")
        await _quiet(carol, "carol", f"nothing sent in room {there} but her ping")
        notes.append("ping: carol got a pong and nothing from the other room")

        aside = "carol, alone in her room"
        await _send(carol, {"action": "sendmessage", "text": aside})
        _expect_message(
            await _frame(carol, "carol", "her own message"), "carol", "carol", there, aside
        )
        for ws, who in ((alice, "alice"), (bob, "bob")):
            await _quiet(ws, who, f"carol's message was sent in room {there}")
        notes.append("rooms are separate: carol's message stayed in her room")

        await _send(bob, {"action": "shout", "text": "?"})
        error = await _frame(bob, "bob", "an error for an unknown action")
        if error.get("type") != "error" or error.get("code") != "unknown_action":
            raise CheckFailed(
                f"bob expected an unknown_action error ($default) but received {error}"
            )
        notes.append("$default: an unknown action is answered with unknown_action")
    finally:
        await asyncio.gather(alice.close(), bob.close(), carol.close())


async def _origin_check(ws_url: str, notes: Notes) -> None:
    try:
        socket = await _join(ws_url, "mallory", new_room("origin"), origin=FOREIGN_ORIGIN)
    except CheckFailed as refused:
        if "HTTP 403" not in str(refused):
            raise
        notes.append(f"a browser from {FOREIGN_ORIGIN} is refused with 403 (ALLOWED_ORIGINS)")
        return
    await socket.close()
    raise CheckFailed(
        f"a browser from {FOREIGN_ORIGIN} was let in although ALLOWED_ORIGINS restricts origins"
    )


def websocket_checks(
    ws_url: str, *, dynamodb: Any, table_name: str, origins_restricted: bool
) -> tuple[Notes, list[Problem]]:
    """Chat through ``ws_url`` with WebSocket clients; read their items from ``table_name``."""
    notes: Notes = []

    def stored(room: str) -> int:
        found = dynamodb.query(
            TableName=table_name,
            IndexName=ROOM_INDEX,
            KeyConditionExpression="room = :room",
            ExpressionAttributeValues={":room": {"S": room}},
            Select="COUNT",
        )
        return int(found["Count"])

    async def run() -> None:
        await _room_checks(ws_url, notes, stored)
        if origins_restricted:
            await _origin_check(ws_url, notes)

    try:
        asyncio.run(run())
    except (CheckFailed, OSError, WebSocketException) as failed:
        return notes, [Problem(WEBSOCKET_AREA, str(failed))]
    return notes, []


# --- the browser ------------------------------------------------------------------------------


def browser_check(
    page_url: str, chromium: Path, timeout_ms: float = PAGE_TIMEOUT_MS
) -> tuple[Notes, list[Problem]]:
    """Two pages of the site join one room in Chromium and exchange a message each way."""
    from playwright.sync_api import Error as PlaywrightError  # noqa: PLC0415 - heavy import
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    notes: Notes = []
    console_errors: list[str] = []
    room = new_room("browser")
    try:
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
                    )
                notes.append(f"alice and bob opened {page_url} and joined room {room}")
                for sender, reader in (("alice", "bob"), ("bob", "alice")):
                    text = f"{sender} says hi from the browser"
                    pages[sender].fill("#text", text)
                    pages[sender].press("#text", "Enter")
                    _wait_for_message(pages[reader], reader, sender, text, timeout_ms)
                    notes.append(f"{reader}'s page shows {sender}'s message")
            finally:
                browser.close()
    except CheckFailed as failed:
        return notes, [Problem(BROWSER_AREA, _with_console(str(failed), console_errors))]
    except PlaywrightError as error:
        message = str(error).strip().splitlines()[0]
        return notes, [Problem(BROWSER_AREA, _with_console(message, console_errors))]
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
) -> Page:
    """A page of its own (a separate person), joined to ``room`` as ``name``."""
    page = browser.new_context().new_page()
    page.set_default_timeout(timeout_ms)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":  # CSP violations and failed sockets show up here
            console_errors.append(f"{name}: {message.text}")

    def on_error(error: PlaywrightError) -> None:
        console_errors.append(f"{name}: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    _join_page(page, page_url, name, room, timeout_ms)
    return page


def _with_console(message: str, console_errors: list[str]) -> str:
    if not console_errors:
        return message
    return f"{message}; the pages logged: {' | '.join(console_errors[:5])}"


def _join_page(page: Page, page_url: str, name: str, room: str, timeout_ms: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    page.goto(page_url)
    page.fill("#name", name)
    page.fill("#room", room)
    page.click("#join-form button[type=submit]")
    connected = f"Connected to room {room} as {name}."
    try:
        page.wait_for_function(
            """(words) => [...document.querySelectorAll("#messages .notice")]
                .some((node) => node.textContent.includes(words))""",
            arg=connected,
        )
    except PlaywrightTimeout as error:
        status = page.text_content("#status-text") or ""
        raise CheckFailed(
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
        raise CheckFailed(
            f"{reader}'s page did not show {sender}'s message {text!r} within "
            f"{timeout_ms / 1000:.0f} s"
        ) from error
