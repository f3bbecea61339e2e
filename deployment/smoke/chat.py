"""The chat as a user meets it: real WebSocket clients on ``websocket_url``, signed in when the
deployment requires it; the rooms' history in the messages table; the ``@connections`` API.

Three clients: alice and bob in one room of the smoke's own, carol in another. With sign-in,
all three are the one signed-in user (a user may have several tabs, docs/protocol.md "Signing
in"), so every frame must name them by the token's name, whatever ``?name=`` says.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.typing import Origin, Subprotocol

from deployment.product import (
    MESSAGES_TABLE_SCHEMA,
    ROOM_INDEX,
    ROOM_SHARD_ATTRIBUTE,
    SUBPROTOCOL,
    AuthMode,
    room_shards,
)
from deployment.rehearsal.csp import url_origin
from deployment.smoke.report import FAIL, OK, CheckFailed, Run
from deployment.smoke.sign_in import Identity
from deployment.smoke.target import SmokeTarget

FRAME_TIMEOUT_S: Final = 10.0
QUIET_S: Final = 2.0
# The room index is eventually consistent (docs/protocol.md, "Catching up"): a new connection
# may miss live messages for about a second, so the smoke waits until the index lists it.
INDEX_WAIT_S: Final = 15.0

TOKENLESS: Final = "tokenless connect"
CONNECT: Final = "connect"
DELIVERY: Final = "room delivery"
NAME: Final = "signed-in name"
HISTORY: Final = "join/history"
ERROR_FRAME: Final = "error frame"
GET_CONNECTION: Final = "@connections GetConnection"
DELETE_CONNECTION: Final = "@connections DeleteConnection"
GONE: Final = "@connections 410"
# What needs a connection (the names sign-in adds are left out for the open chat).
CHAT_CHECKS: Final = (
    CONNECT,
    DELIVERY,
    NAME,
    HISTORY,
    ERROR_FRAME,
    GET_CONNECTION,
    DELETE_CONNECTION,
    GONE,
)


def chat_check_names(auth: AuthMode) -> tuple[str, ...]:
    """The checks that need a connection, in order (the token's name only with sign-in)."""
    return tuple(name for name in CHAT_CHECKS if name != NAME or auth is not AuthMode.NONE)


_MESSAGES_KEY: Final = [k["AttributeName"] for k in MESSAGES_TABLE_SCHEMA["KeySchema"]]


class Client:
    """One WebSocket client of the chat, in one room."""

    def __init__(self, person: str, room: str, socket: ClientConnection) -> None:
        self.person, self.room, self.socket = person, room, socket

    async def send(self, frame: Mapping[str, Any] | str) -> None:
        """Send a frame (a mapping is sent as JSON, a string as it is)."""
        await self.socket.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], what: str, timeout_s: float
    ) -> dict[str, Any]:
        """The first frame ``wanted`` accepts; other frames (presence, history...) are skipped."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.socket.recv(), left)
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                raise CheckFailed(f"{self.person}'s socket closed waiting for {what}") from closed
            try:
                frame = json.loads(raw)
            except ValueError as error:
                raise CheckFailed(f"{self.person} received a frame that is not JSON") from error
            if isinstance(frame, dict) and wanted(frame):
                return frame
        raise CheckFailed(f"{self.person} received no {what} within {timeout_s:.0f} s")


def _typed(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("type") == kind


async def _connect(
    target: SmokeTarget, person: str, room: str, subprotocols: Sequence[str] | None
) -> ClientConnection:
    # As the page connects: with the site's origin, which the function's allowlist admits.
    return await connect(
        f"{target.websocket_url}?name={person}&room={room}",
        origin=Origin(url_origin(target.website_url)),
        subprotocols=None if subprotocols is None else [Subprotocol(s) for s in subprotocols],
        open_timeout=FRAME_TIMEOUT_S,
        proxy=None,
    )


async def _join(target: SmokeTarget, identity: Identity, person: str, room: str) -> Client:
    offered = None if identity.token is None else [SUBPROTOCOL, identity.token]
    try:
        socket = await _connect(target, person, room, offered)
    except InvalidStatus as refused:
        raise CheckFailed(
            f"{person} could not connect: HTTP {refused.response.status_code}"
        ) from refused
    if offered is not None and socket.subprotocol != SUBPROTOCOL:
        await socket.close()
        raise CheckFailed(
            f"the signed-in connect was answered with subprotocol {socket.subprotocol!r}, not "
            f"{SUBPROTOCOL!r}: browsers fail such a handshake"
        )
    return Client(person, room, socket)


async def check_tokenless(target: SmokeTarget) -> str:
    """With sign-in on, a connect without a token (no ``Sec-WebSocket-Protocol``) is refused
    with 401 (docs/protocol.md, "Refusals")."""
    room = f"smoke-{uuid.uuid4().hex[:8]}-refused"
    try:
        socket = await _connect(target, "mallory", room, None)
    except InvalidStatus as refused:
        status = refused.response.status_code
        if status != 401:
            raise CheckFailed(
                f"a connect without a token was refused with {status}, not 401"
            ) from refused
        return "a connect without a token (no Sec-WebSocket-Protocol) is refused with 401"
    except (OSError, WebSocketException, TimeoutError) as error:
        raise CheckFailed(f"{target.websocket_url}: {error}") from error
    await socket.close()
    raise CheckFailed("a connect without a token was let in: sign-in is not enforced")


async def _members(client: Client, connections: int) -> dict[str, Any]:
    """Ask ``members`` until the room counts ``connections`` (the index has caught up)."""
    deadline = time.monotonic() + INDEX_WAIT_S
    while True:
        await client.send({"action": "members"})
        frame = await client.wait_for(_typed("members"), "members frame", FRAME_TIMEOUT_S)
        counted = sum(int(m.get("connections", 0)) for m in frame.get("members", []))
        if counted >= connections:
            return frame
        if time.monotonic() > deadline:
            raise CheckFailed(
                f"{client.room}'s member list counted {counted} connections, not {connections}"
            )
        await asyncio.sleep(0.5)


def _connection_id(dynamodb: Any, table: str, room: str) -> str:
    """The one connection of ``room``, from the table's room index (eventually consistent)."""
    deadline = time.monotonic() + INDEX_WAIT_S
    while True:
        items = [  # every shard of the room (chat.room_shards.ROOM_SHARDS)
            item
            for shard in room_shards(room)
            for item in dynamodb.query(
                TableName=table,
                IndexName=ROOM_INDEX,
                KeyConditionExpression="#shard = :shard",
                ExpressionAttributeNames={"#shard": ROOM_SHARD_ATTRIBUTE},
                ExpressionAttributeValues={":shard": {"S": shard}},
            )["Items"]
        ]
        if len(items) == 1:
            return str(items[0]["connectionId"]["S"])
        if time.monotonic() > deadline:
            raise CheckFailed(f"{table} lists {len(items)} connections in {room}, expected 1")
        time.sleep(0.5)


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


async def chat_checks(
    target: SmokeTarget, session: Any, run: Run, identity: Identity | None
) -> None:
    """Every chat check, recorded in ``run``; ``identity`` None: sign-in is on and there is no
    token (its line said why), so only the tokenless connect is tried."""
    if target.auth is not AuthMode.NONE:
        await _attempt(run, TOKENLESS, check_tokenless(target))
    names = chat_check_names(target.auth)
    if identity is None:
        run.skip(names, "no ID token to connect with (see sign-in)")
        return
    tag = uuid.uuid4().hex[:8]
    here, there = f"smoke-{tag}-a", f"smoke-{tag}-b"
    clients: list[Client] = []
    try:
        try:
            for person, room in (("alice", here), ("bob", here), ("carol", there)):
                clients.append(await _join(target, identity, person, room))
            alice, bob, carol = clients
            await _members(alice, 2)
            run.record(CONNECT, OK, f"alice and bob in {here}, carol in {there}")
        except (CheckFailed, OSError, WebSocketException, TimeoutError) as failed:
            run.record(CONNECT, FAIL, f"{target.websocket_url}: {failed}")
            run.skip(names[1:], "no connection")
            return
        config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
        dynamodb = session.client("dynamodb", region_name=target.region, config=config)
        message = await _delivery(run, identity, alice, bob, carol)
        if message is None:
            needs_message = tuple(n for n in (NAME, HISTORY) if n in names)
            run.skip(needs_message, f"no message ({DELIVERY} failed)")
        else:
            _name(run, identity, message)
            await _attempt(run, HISTORY, _history(target, dynamodb, bob, message))
        await _attempt(run, ERROR_FRAME, _error_frame(bob))
        management = session.client(
            "apigatewaymanagementapi",
            endpoint_url=target.connections_endpoint,
            region_name=target.region,
            config=config,
        )
        await _management(run, target, management, dynamodb, carol)
    finally:
        await asyncio.gather(*(c.socket.close() for c in clients), return_exceptions=True)


async def _attempt(run: Run, name: str, check: Awaitable[str]) -> None:
    """Await ``check`` (a coroutine answering the line's detail) and record its line."""
    try:
        run.record(name, OK, await check)
    except (CheckFailed, WebSocketException, ClientError, BotoCoreError, KeyError) as failed:
        run.record(name, FAIL, str(failed))


async def _delivery(
    run: Run, identity: Identity, alice: Client, bob: Client, carol: Client
) -> dict[str, Any] | None:
    """alice's message reaches bob in her room, not carol in another: bob's copy of it."""
    text = f"smoke test {uuid.uuid4().hex[:8]}"
    try:
        await alice.send({"action": "sendmessage", "text": text})
        frame = await bob.wait_for(
            lambda f: f.get("type") == "message" and f.get("text") == text,
            "message from alice",
            FRAME_TIMEOUT_S,
        )
        try:
            await carol.wait_for(lambda f: f.get("text") == text, "message", QUIET_S)
        except CheckFailed:
            pass
        else:
            raise CheckFailed(f"carol, in {carol.room}, received alice's message too")
        if identity.name is None and frame.get("from") != alice.person:
            raise CheckFailed(f"alice's message arrived from {frame.get('from')!r}")
    except (CheckFailed, WebSocketException) as failed:
        run.record(DELIVERY, FAIL, str(failed))
        return None
    run.record(DELIVERY, OK, "bob got alice's message, carol in another room did not")
    return frame


def _name(run: Run, identity: Identity, message: dict[str, Any]) -> None:
    """Signed in, the chat names the user as the token does, whatever ``?name=`` asked."""
    if identity.name is None:
        return  # the open chat: _delivery checked the ?name=
    shown = message.get("from")
    if shown != identity.name:
        run.record(
            NAME,
            FAIL,
            f"alice's message came from {shown!r}, not {identity.name!r}, the token's name",
        )
        return
    run.record(NAME, OK, f"the message came from {shown!r}, the token's name (not ?name=alice)")


async def _history(target: SmokeTarget, dynamodb: Any, bob: Client, message: dict[str, Any]) -> str:
    """``join`` answers members then the history holding the message, which is an item of the
    messages table; ``history`` after its id holds nothing newer."""
    message_id, sender = message.get("id"), message.get("from")
    await bob.send({"action": "join"})
    members = await bob.wait_for(_typed("members"), "members frame after join", FRAME_TIMEOUT_S)
    names = sorted({str(m.get("name")) for m in members.get("members", [])})
    page = await bob.wait_for(_typed("history"), "history frame after join", FRAME_TIMEOUT_S)
    held = [m for m in page.get("messages", []) if m.get("id") == message_id]
    if not held or held[0].get("from") != sender or held[0].get("text") != message.get("text"):
        raise CheckFailed(f"join's history of {bob.room} does not hold message {message_id}")
    await bob.send({"action": "history", "after": message_id})
    later = await bob.wait_for(
        lambda f: f.get("type") == "history" and f.get("after") == message_id,
        "history frame after the message",
        FRAME_TIMEOUT_S,
    )
    if later.get("messages"):
        raise CheckFailed(f"history after {message_id} holds {len(later['messages'])} messages")
    room_key, id_key = _MESSAGES_KEY
    item = await asyncio.to_thread(
        dynamodb.get_item,
        TableName=target.messages_table_name,
        Key={room_key: {"S": bob.room}, id_key: {"S": str(message_id)}},
    )
    if "Item" not in item:
        raise CheckFailed(f"{target.messages_table_name} has no item for message {message_id}")
    return (
        f"join answered members ({', '.join(names)}) and history holding {message_id} from "
        f"{sender!r}, stored in {target.messages_table_name}; history after it is empty"
    )


async def _error_frame(bob: Client) -> str:
    await bob.send("this is not JSON")
    frame = await bob.wait_for(_typed("error"), "error frame", FRAME_TIMEOUT_S)
    return f"a frame that is not JSON is answered {frame['code']!r}"


async def _management(
    run: Run, target: SmokeTarget, management: Any, dynamodb: Any, carol: Client
) -> None:
    try:
        connection_id = await asyncio.to_thread(
            _connection_id, dynamodb, target.table_name, carol.room
        )
        answer = await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
        run.record(
            GET_CONNECTION,
            OK,
            f"{target.connections_endpoint} knows carol's connection (connected "
            f"{answer['ConnectedAt']:%H:%M:%S})",
        )
        await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
        try:
            await asyncio.wait_for(carol.socket.wait_closed(), FRAME_TIMEOUT_S)
        except TimeoutError as error:
            raise CheckFailed("carol's socket stayed open after DeleteConnection") from error
        run.record(DELETE_CONNECTION, OK, "carol's socket was closed")
    except (CheckFailed, ClientError, BotoCoreError) as failed:
        run.record("@connections", FAIL, str(failed))
        return
    try:
        await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
    except ClientError as gone:
        if _status(gone) == 410:
            run.record(GONE, OK, "GetConnection of the deleted one answers 410")
            return
        run.record(GONE, FAIL, f"expected 410 (GoneException), got {gone}")
        return
    run.record(GONE, FAIL, "the deleted connection is still known")
