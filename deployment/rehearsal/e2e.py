"""The end-to-end chat checks the rehearsal runs against the local stack built from Terraform.

``websocket_checks``: real WebSocket clients in two rooms (delivery in-room, nothing across
rooms, pong, ``$default``), the connections stored in Terraform's table, and, when the
deployment restricts origins, a foreign browser origin refused. With sign-in on
(``SignIn``), the clients are users created in the deployment's user pool, signed in with
``USER_PASSWORD_AUTH`` through its app client: they connect with their ID token as a
subprotocol (docs/protocol.md, "Signing in"), chat under the names their tokens give whatever
``?name=`` says, and a connect without a token, with only the chat's subprotocol, with a forged
token or with an access token is refused with 401. ``browser_check``: two Chromium pages of
the site Terraform uploaded, joined to one room, exchanging messages; with sign-in on, each
page signs its user in first through the page's sign-in form (the selectors below, agreed
with the page: ``SIGN_IN_FORM`` and the fields in it).

Each returns what it saw (notes) and what went wrong (problems); a failed check stops the
checks that depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Origin, Subprotocol

from deployment.product import (
    ROOM_INDEX,
    ROOM_SHARD_ATTRIBUTE,
    SUBPROTOCOL,
    AuthorizerSettings,
    room_shards,
)
from deployment.product import token_name as product_token_name
from deployment.rehearsal.readback import AppliedUserPool
from deployment.rehearsal.report import Problem
from local_stack.browser import CHROMIUM_ARGS

WEBSOCKET_AREA: Final = "WebSocket chat"
BROWSER_AREA: Final = "browser chat"
FRAME_TIMEOUT_S: Final = 5.0
QUIET_S: Final = 0.5
PAGE_TIMEOUT_MS: Final = 10_000
FOREIGN_ORIGIN: Final = "https://not-the-chat.example"
# What signed-in clients put in ?name=: the chat must ignore it for the token's name.
IGNORED_NAME: Final = "mallory"
PEOPLE: Final = ("alice", "bob", "carol")
# The signed-in page's form (frontend/, issue #17): the browser check fills these.
SIGN_IN_FORM: Final = "#sign-in-form"
SIGN_IN_USERNAME: Final = "#sign-in-username"
SIGN_IN_PASSWORD: Final = "#sign-in-password"  # noqa: S105 - a CSS selector
SIGN_IN_SUBMIT: Final = "#sign-in-form button[type=submit]"

if TYPE_CHECKING:  # playwright is imported only when the browser check runs
    from playwright.sync_api import Browser, ConsoleMessage, Page
    from playwright.sync_api import Error as PlaywrightError

Notes = list[str]


class E2ECheckFailed(Exception):
    """One end-to-end expectation was not met; the message says which and what happened."""


def new_room(label: str) -> str:
    """A room name no earlier run used."""
    return f"rehearsal-{label}-{uuid.uuid4().hex[:8]}"


# --- WebSocket clients ------------------------------------------------------------------------


# person, room, origin (None: not a browser) -> an open connection of that person in the room
Join = Callable[[str, str, str | None], Awaitable[ClientConnection]]


async def _connect(
    ws_url: str, name: str, room: str, origin: str | None, subprotocols: Sequence[str] | None
) -> ClientConnection:
    return await connect(
        f"{ws_url}?name={name}&room={room}",
        proxy=None,
        compression=None,
        open_timeout=10,
        origin=None if origin is None else Origin(origin),
        subprotocols=None if subprotocols is None else [Subprotocol(s) for s in subprotocols],
    )


async def _join(ws_url: str, name: str, room: str, origin: str | None = None) -> ClientConnection:
    try:
        return await _connect(ws_url, name, room, origin, None)
    except InvalidStatus as refused:
        raise E2ECheckFailed(
            f"{name} could not join room {room}: the handshake was refused with HTTP "
            f"{refused.response.status_code} (see the function's log above)"
        ) from refused


def open_join(ws_url: str) -> Join:
    """Joining the open chat: each person names themself in ``?name=``."""

    async def join(person: str, room: str, origin: str | None) -> ClientConnection:
        return await _join(ws_url, person, room, origin)

    return join


def signed_in_join(ws_url: str, users: Mapping[str, SignedInUser]) -> Join:
    """Joining with sign-in on: each person offers their ID token next to the chat's
    subprotocol and a ``?name=`` that must be ignored; the answer must select the chat's
    subprotocol, or browsers would fail the handshake."""

    async def join(person: str, room: str, origin: str | None) -> ClientConnection:
        try:
            ws = await _connect(
                ws_url, IGNORED_NAME, room, origin, [SUBPROTOCOL, users[person].id_token]
            )
        except InvalidStatus as refused:
            raise E2ECheckFailed(
                f"{person}, signed in, could not join room {room}: the handshake was refused "
                f"with HTTP {refused.response.status_code} (see the authorizer's and the "
                "function's log above)"
            ) from refused
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close()
            raise E2ECheckFailed(
                f"{person}'s $connect was answered with subprotocol {ws.subprotocol!r}, not "
                f"{SUBPROTOCOL!r}: browsers fail a handshake whose answer selects none of the "
                "subprotocols they offered"
            )
        return ws

    return join


async def _frame(ws: ClientConnection, who: str, waiting_for: str) -> dict[str, Any]:
    try:
        raw = await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_S)
    except TimeoutError as error:
        raise E2ECheckFailed(
            f"{who} received nothing within {FRAME_TIMEOUT_S:.0f} s while waiting for {waiting_for}"
        ) from error
    except WebSocketException as error:
        raise E2ECheckFailed(
            f"{who}'s connection failed while waiting for {waiting_for}: {error}"
        ) from error
    decoded = json.loads(raw)
    if not isinstance(decoded, dict):
        raise E2ECheckFailed(f"{who} received {raw!r} while waiting for {waiting_for}")
    return decoded


async def _quiet(ws: ClientConnection, who: str, because: str) -> None:
    try:
        raw = await asyncio.wait_for(ws.recv(), QUIET_S)
    except TimeoutError:
        return
    raise E2ECheckFailed(f"{who} received {raw!r}, but {because}")


def _expect_message(frame: dict[str, Any], who: str, sender: str, room: str, text: str) -> None:
    wanted = {"type": "message", "room": room, "from": sender, "text": text}
    got = {key: frame.get(key) for key in wanted}
    if got != wanted:
        raise E2ECheckFailed(f"{who} expected {wanted} but received {frame}")


async def _send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def _room_checks(
    join: Join, names: Mapping[str, str], notes: Notes, stored: Callable[[str], int]
) -> None:
    """``names``: the name each person chats under (their own, or their token's)."""
    here, there = new_room("a"), new_room("b")
    alice = await join("alice", here, None)
    bob = await join("bob", here, None)
    carol = await join("carol", there, None)
    try:
        notes.append(f"alice and bob joined room {here}, carol joined room {there}")

        counts = {here: stored(here), there: stored(there)}
        if counts != {here: 2, there: 1}:
            raise E2ECheckFailed(
                f"the table Terraform created holds {counts} connections per room, expected "
                f"{{{here!r}: 2, {there!r}: 1}}"
            )
        notes.append("the three connections are stored in the table Terraform created")

        hello = "hello from alice"
        await _send(alice, {"action": "sendmessage", "text": hello})
        for ws, who in ((alice, "alice"), (bob, "bob")):
            _expect_message(
                await _frame(ws, who, "alice's message"), who, names["alice"], here, hello
            )
        notes.append("sendmessage: alice's message reached alice and bob in their room")

        await _send(carol, {"action": "ping"})
        pong = await _frame(carol, "carol", "a pong")
        if pong != {"type": "pong"}:
            raise E2ECheckFailed(f"carol expected {{'type': 'pong'}} but received {pong}")
        await _quiet(carol, "carol", f"nothing sent in room {there} but her ping")
        notes.append("ping: carol got a pong and nothing from the other room")

        aside = "carol, alone in her room"
        await _send(carol, {"action": "sendmessage", "text": aside})
        _expect_message(
            await _frame(carol, "carol", "her own message"), "carol", names["carol"], there, aside
        )
        for ws, who in ((alice, "alice"), (bob, "bob")):
            await _quiet(ws, who, f"carol's message was sent in room {there}")
        notes.append("rooms are separate: carol's message stayed in her room")

        await _send(bob, {"action": "shout", "text": "?"})
        error = await _frame(bob, "bob", "an error for an unknown action")
        if error.get("type") != "error" or error.get("code") != "unknown_action":
            raise E2ECheckFailed(
                f"bob expected an unknown_action error ($default) but received {error}"
            )
        notes.append("$default: an unknown action is answered with unknown_action")
    finally:
        await asyncio.gather(alice.close(), bob.close(), carol.close())


async def _origin_check(join: Join, notes: Notes) -> None:
    try:
        socket = await join("carol", new_room("origin"), FOREIGN_ORIGIN)
    except E2ECheckFailed as refused:
        if "HTTP 403" not in str(refused):
            raise
        notes.append(f"a browser from {FOREIGN_ORIGIN} is refused with 403 (ALLOWED_ORIGINS)")
        return
    await socket.close()
    raise E2ECheckFailed(
        f"a browser from {FOREIGN_ORIGIN} was let in although ALLOWED_ORIGINS restricts origins"
    )


def websocket_checks(
    ws_url: str,
    *,
    dynamodb: Any,
    table_name: str,
    origins_restricted: bool,
    sign_in: SignIn | None = None,
) -> tuple[Notes, list[Problem]]:
    """Chat through ``ws_url`` with WebSocket clients; read their items from ``table_name``.

    With ``sign_in``, the clients are users of its pool, signed in first (module docstring)."""
    notes: Notes = []

    def stored(room: str) -> int:
        # The room index is sharded (chat.room_shards.ROOM_SHARDS): count every shard.
        return sum(
            int(
                dynamodb.query(
                    TableName=table_name,
                    IndexName=ROOM_INDEX,
                    KeyConditionExpression="#shard = :shard",
                    ExpressionAttributeNames={"#shard": ROOM_SHARD_ATTRIBUTE},
                    ExpressionAttributeValues={":shard": {"S": shard}},
                    Select="COUNT",
                )["Count"]
            )
            for shard in room_shards(room)
        )

    async def run(join: Join, names: Mapping[str, str]) -> None:
        await _room_checks(join, names, notes, stored)
        if sign_in is not None:
            await _refusal_checks(ws_url, users, notes)
        if origins_restricted:
            await _origin_check(join, notes)

    users: dict[str, SignedInUser] = {}
    try:
        if sign_in is None:
            asyncio.run(run(open_join(ws_url), {person: person for person in PEOPLE}))
            return notes, []
        users.update(sign_in_users(sign_in, PEOPLE))
        names = {person: user.name for person, user in users.items()}
        notes.append(
            f"{', '.join(PEOPLE)} signed in to user pool {sign_in.pool.pool_id} through app "
            f"client {sign_in.client_id} (USER_PASSWORD_AUTH); their ID tokens name them "
            f"{', '.join(names[p] for p in PEOPLE)}"
        )
        asyncio.run(run(signed_in_join(ws_url, users), names))
        notes.append(
            f"signed in, everyone chats under their token's name; ?name={IGNORED_NAME} is "
            f"ignored, and the answer selects the {SUBPROTOCOL} subprotocol"
        )
    except (E2ECheckFailed, OSError, WebSocketException) as failed:
        return notes, [Problem(WEBSOCKET_AREA, str(failed))]
    except ClientError as failed:
        return notes, [Problem(WEBSOCKET_AREA, f"signing the test users in failed: {failed}")]
    finally:
        if sign_in is not None:
            delete_users(sign_in, users.values())
    return notes, []


# --- signed-in users --------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """Where the WebSocket checks sign their users in: a user pool of the deployment and its
    app client, through ``cognito`` (a boto3 ``cognito-idp`` client on the emulator), and the
    deployed authorizer's settings (which claim names a user)."""

    cognito: Any
    pool: AppliedUserPool
    client_id: str
    authorizer: AuthorizerSettings


@dataclass(frozen=True)
class SignedInUser:
    """A user the checks created, and the tokens ``InitiateAuth`` gave them."""

    username: str
    password: str
    id_token: str
    access_token: str
    name: str
    """The display name the authorizer takes from the ID token (``authorizer.verify``)."""


def username_for(person: str, pool: AppliedUserPool, suffix: str) -> str:
    """A new user name for ``person``: an email address when the pool signs in by email."""
    base = f"rehearsal-{person}-{suffix}"
    return f"{base}@example.com" if "email" in pool.username_attributes else base


def token_name(id_token: str, settings: AuthorizerSettings) -> str:
    """The name the authorizer, deployed with ``settings``, gives the user of ``id_token``."""
    return product_token_name(id_token, settings.name_claim, unique=settings.name_unique)


def sign_in_users(sign_in: SignIn, people: Sequence[str]) -> dict[str, SignedInUser]:
    """Create a confirmed user per person in the pool and sign each in (USER_PASSWORD_AUTH)."""
    cognito, pool = sign_in.cognito, sign_in.pool
    suffix = uuid.uuid4().hex[:8]
    users = {}
    for person in people:
        username = username_for(person, pool, suffix)
        # Upper, lower, digits and symbols: Cognito's strictest default password policy.
        password = f"Rh-{uuid.uuid4().hex[:16]}-A1!"
        attributes = (
            [{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}]
            if "@" in username
            else []
        )
        cognito.admin_create_user(
            UserPoolId=pool.pool_id,
            Username=username,
            TemporaryPassword=password,
            MessageAction="SUPPRESS",
            UserAttributes=attributes,
        )
        cognito.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True
        )
        result = cognito.initiate_auth(
            ClientId=sign_in.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        tokens = result.get("AuthenticationResult") or {}
        if "IdToken" not in tokens:
            raise E2ECheckFailed(
                f"signing {username} in gave no ID token (challenge "
                f"{result.get('ChallengeName')!r})"
            )
        users[person] = SignedInUser(
            username=username,
            password=password,
            id_token=tokens["IdToken"],
            access_token=tokens["AccessToken"],
            name=token_name(tokens["IdToken"], sign_in.authorizer),
        )
    return users


def delete_users(sign_in: SignIn, users: Iterable[SignedInUser]) -> None:
    """Remove the users the checks created (best effort: the pool is destroyed anyway)."""
    for user in users:
        with contextlib.suppress(ClientError):
            sign_in.cognito.admin_delete_user(
                UserPoolId=sign_in.pool.pool_id, Username=user.username
            )


def forged(token: str) -> str:
    """``token`` with its signature changed: well formed, signed by no one."""
    head, payload, signature = token.split(".")
    return f"{head}.{payload}.{'B' if signature[:1] == 'A' else 'A'}{signature[1:]}"


async def _expect_refused(
    ws_url: str, what: str, subprotocols: Sequence[str] | None, status: int
) -> None:
    try:
        ws = await _connect(ws_url, IGNORED_NAME, new_room("refused"), None, subprotocols)
    except InvalidStatus as refused:
        got = refused.response.status_code
        if got != status:
            raise E2ECheckFailed(
                f"a connect with {what} was refused with HTTP {got}, not {status}"
            ) from refused
        return
    await ws.close()
    raise E2ECheckFailed(f"a connect with {what} was let in: sign-in is not enforced")


async def _refusal_checks(ws_url: str, users: Mapping[str, SignedInUser], notes: Notes) -> None:
    alice = users["alice"]
    cases: list[tuple[str, list[str] | None]] = [
        ("no Sec-WebSocket-Protocol header", None),
        (f"only the {SUBPROTOCOL} subprotocol (no token)", [SUBPROTOCOL]),
        ("an ID token whose signature is forged", [SUBPROTOCOL, forged(alice.id_token)]),
        ("an access token instead of an ID token", [SUBPROTOCOL, alice.access_token]),
    ]
    for what, subprotocols in cases:
        await _expect_refused(ws_url, what, subprotocols, 401)
    notes.append(f"refused with 401: a connect with {'; with '.join(w for w, _ in cases)}")


# --- the browser ------------------------------------------------------------------------------


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
