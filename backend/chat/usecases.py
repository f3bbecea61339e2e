"""The chat's use cases: plain functions that take their collaborators as arguments.

They know nothing of Lambda events or boto3: the handler extracts what they need, and the tests
pass small fakes for the store and the sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from .broadcast import DEFAULT_POLICY, BroadcastStats, RetryPolicy, broadcast
from .config import Settings, normalize_origin
from .connections import Connection, ConnectionId, ConnectionStore
from .errors import ClientError, ErrorCode, HandshakeRefused
from .gateway import Sender
from .ids import decode_ulid_time, iso_utc
from .protocol import (
    PAYLOAD_TOO_LARGE_FRAME,
    SendMessage,
    error_frame,
    message_frame,
    parse_frame,
    parse_object,
    pong_frame,
    unknown_action,
)
from .validation import DEFAULT_ROOM, clean_name, clean_room


@dataclass(frozen=True, slots=True)
class Outbox:
    """Where frames go: a sender, the store to prune from, and the fan-out's limits."""

    sender: Sender
    store: ConnectionStore
    concurrency: int
    policy: RetryPolicy = DEFAULT_POLICY
    remaining_ms: Callable[[], int] | None = None

    def send(self, payload: bytes, recipients: Iterable[ConnectionId]) -> BroadcastStats:
        """Deliver ``payload`` to ``recipients`` through ``broadcast``."""
        return broadcast(
            payload,
            recipients,
            self.sender,
            self.store,
            concurrency=self.concurrency,
            policy=self.policy,
            remaining_ms=self.remaining_ms,
        )


def connect(
    connection_id: ConnectionId,
    query: Mapping[str, str],
    origin: str | None,
    *,
    store: ConnectionStore,
    settings: Settings,
    now_ms: int,
    guest_name: Callable[[], str],
) -> Connection:
    """Admit a new connection and store it; raise ``HandshakeRefused`` (403/400) otherwise.

    Never posts to the connection: during ``$connect`` API Gateway answers such a post with 410.
    """
    # Browsers always send Origin; other clients need not, and the allowlist is for browsers.
    if (
        origin is not None
        and settings.allowed_origins
        and normalize_origin(origin) not in settings.allowed_origins
    ):
        raise HandshakeRefused(403, "origin_not_allowed")
    raw_name = query.get("name")
    name = guest_name() if raw_name is None else clean_name(raw_name)
    if name is None:
        raise HandshakeRefused(400, "invalid_name")
    raw_room = query.get("room")
    room = DEFAULT_ROOM if raw_room is None else clean_room(raw_room)
    if room is None:
        raise HandshakeRefused(400, "invalid_room")
    connection = Connection(
        connection_id=connection_id,
        room=room,
        name=name,
        connected_at_ms=now_ms,
        expires_at_s=now_ms // 1000 + settings.connection_ttl_seconds,
    )
    store.put(connection)
    return connection


def disconnect(connection_id: ConnectionId, *, store: ConnectionStore) -> None:
    """Forget a connection; idempotent, since ``$disconnect`` may come late, twice or never."""
    store.delete(connection_id)


def send_message(
    connection_id: ConnectionId,
    body: str | None,
    *,
    is_base64: bool = False,
    store: ConnectionStore,
    outbox: Outbox,
    settings: Settings,
    new_id: Callable[[], str],
) -> BroadcastStats:
    """Broadcast a ``sendmessage`` frame to the sender's room, the sender included.

    Name and room come from the stored connection; whatever else the frame holds is ignored.
    Raises ``ClientError`` for a bad frame or an unknown sender, before anything is sent.
    """
    frame = parse_frame(body, max_chars=settings.max_message_chars, is_base64=is_base64)
    if not isinstance(frame, SendMessage):
        raise unknown_action()
    sender = store.get(connection_id)
    if sender is None:
        raise ClientError(
            ErrorCode.NOT_CONNECTED,
            "The server has no record of this connection; please reconnect.",
        )
    message_id = new_id()
    sent_at_ms = decode_ulid_time(message_id)  # one clock reading for both id and sentAt
    payload = message_frame(
        message_id=message_id,
        room=sender.room,
        sender=sender.name,
        text=frame.text,
        sent_at=iso_utc(sent_at_ms),
    )
    stats = outbox.send(payload, store.room_members(sender.room, sent_at_ms // 1000))
    if stats.too_large:
        stats += outbox.send(PAYLOAD_TOO_LARGE_FRAME, [connection_id])
    return stats


def ping(connection_id: ConnectionId, *, outbox: Outbox) -> BroadcastStats:
    """Answer ``pong`` to the sender only."""
    return outbox.send(pong_frame(), [connection_id])


def reject_default(body: str | None, *, is_base64: bool = False) -> NoReturn:
    """The ``$default`` route: every frame that reaches it is an error for its sender."""
    parse_object(body, is_base64=is_base64)  # raises invalid_json / invalid_frame
    raise unknown_action()


def reply_error(
    connection_id: ConnectionId, error: ClientError, *, outbox: Outbox
) -> BroadcastStats:
    """Send ``error`` to the offending connection only."""
    return outbox.send(error_frame(error.code, error.message), [connection_id])
