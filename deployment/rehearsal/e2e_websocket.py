"""The rehearsal's WebSocket checks (``websocket_checks``): real WebSocket clients in two rooms
(delivery in-room, nothing across rooms, pong, ``$default``), the connections stored in
Terraform's table, and, when the deployment restricts origins, a foreign browser origin
refused. With sign-in on (``e2e_users.SignIn``), the clients are users created in the
deployment's user pool: they connect with their ID token as a subprotocol (docs/protocol.md,
"Signing in"), chat under the names their tokens give whatever ``?name=`` says, and a connect
without a token, with only the chat's subprotocol, with a forged token or with an access token
is refused with 401.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from botocore.exceptions import ClientError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Origin, Subprotocol

from deployment.product import ROOM_INDEX, ROOM_SHARD_ATTRIBUTE, SUBPROTOCOL, room_shards
from deployment.rehearsal.e2e import E2ECheckFailed, Notes, new_room
from deployment.rehearsal.e2e_users import (
    SignedInUser,
    SignIn,
    delete_users,
    forged,
    sign_in_users,
)
from deployment.rehearsal.report import Problem

WEBSOCKET_AREA: Final = "WebSocket chat"
FRAME_TIMEOUT_S: Final = 5.0
QUIET_S: Final = 0.5
FOREIGN_ORIGIN: Final = "https://not-the-chat.example"
# What signed-in clients put in ?name=: the chat must ignore it for the token's name.
IGNORED_NAME: Final = "mallory"
PEOPLE: Final = ("alice", "bob", "carol")


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
