"""The server frames of ``docs/protocol.md``: the UTF-8 bytes posted to ``@connections``.

Apart from ``protocol`` (the client frames) so that answering a ``ping``, the usual first message
of a cold start, loads neither the client frames nor the text checks they use. Nothing here
does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from .errors import ErrorCode
from .ids import iso_utc
from .stored import Direction, StoredMessage

if TYPE_CHECKING:
    from .presence import Member


# API Gateway accepts at most 128 KB per @connections post ("Quotas for configuring and running
# a WebSocket API"). A message frame is capped well below, so that any stored message fits in a
# history frame alone; a history frame stops taking messages at its budget, leaving 32 KiB spare.
MESSAGE_FRAME_MAX: Final = 64 * 1024
HISTORY_FRAME_BUDGET: Final = 96 * 1024
MEMBERS_FRAME_BUDGET: Final = 32 * 1024


def _encode(frame: dict[str, object]) -> bytes:
    # Compact, and UTF-8 rather than \u escapes: a frame is capped at 128 KB.
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def message_frame(
    *,
    message_id: str,
    room: str,
    sender: str,
    text: str,
    sent_at: str,
    client_id: str | None = None,
) -> bytes:
    """The ``message`` frame every connection of the room receives; the sender's own copy
    carries its ``client_id``."""
    frame: dict[str, object] = {
        "type": "message",
        "id": message_id,
        "room": room,
        "from": sender,
        "text": text,
        "sentAt": sent_at,
    }
    if client_id is not None:
        frame["clientId"] = client_id
    return _encode(frame)


def stored_message_frame(message: StoredMessage, client_id: str | None = None) -> bytes:
    """``message_frame`` of a stored message."""
    return message_frame(
        message_id=message.message_id,
        room=message.room,
        sender=message.sender,
        text=message.text,
        sent_at=iso_utc(message.sent_at_ms),
        client_id=client_id,
    )


def _history_item(message: StoredMessage) -> bytes:
    return _encode(
        {
            "id": message.message_id,
            "from": message.sender,
            "text": message.text,
            "sentAt": iso_utc(message.sent_at_ms),
        }
    )


_MORE: Final = b'],"more":true}'
_NO_MORE: Final = b'],"more":false}'


def history_frame(
    room: str,
    nearest_first: Iterable[StoredMessage],
    *,
    more: bool,
    direction: Direction,
    cursor: str | None,
    budget: int = HISTORY_FRAME_BUDGET,
) -> bytes:
    """The ``history`` frame: messages oldest first, at most ``budget`` bytes encoded.

    ``nearest_first`` is in reading order (nearest the cursor first: newest first unless
    ``direction`` is ``AFTER``); messages are taken while the frame stays within ``budget``,
    the first always (a message frame is at most ``MESSAGE_FRAME_MAX``), and a cut page says
    ``more``. The frame is assembled from separately encoded items so its size is known exactly
    before it is built.
    """
    head: dict[str, object] = {"type": "history", "room": room}
    if cursor is not None:
        head[direction.value] = cursor
    prefix = _encode(head)[:-1] + b',"messages":['
    size = len(prefix) + len(_NO_MORE)
    items: list[bytes] = []
    for message in nearest_first:
        item = _history_item(message)
        grown = size + len(item) + (1 if items else 0)
        if items and grown > budget:
            more = True
            break
        items.append(item)
        size = grown
    if direction is not Direction.AFTER:
        items.reverse()
    return prefix + b",".join(items) + (_MORE if more else _NO_MORE)


def pong_frame() -> bytes:
    """The reply to ``ping``."""
    return _encode({"type": "pong"})


def _member_item(member: Member) -> bytes:
    return _encode(
        {"name": member.name, "since": iso_utc(member.since_ms), "connections": member.connections}
    )


def members_frame(room: str, members: list[Member], budget: int = MEMBERS_FRAME_BUDGET) -> bytes:
    """The ``members`` frame: every name while the frame stays within ``budget`` bytes."""
    prefix = _encode({"type": "members", "room": room, "count": len(members)})[:-1]
    opening = b',"members":['
    closing_length = len(b'],"complete":false}')
    size = len(prefix) + len(opening) + closing_length
    items: list[bytes] = []
    for member in members:
        item = _member_item(member)
        grown = size + len(item) + (1 if items else 0)
        if grown > budget:
            break
        items.append(item)
        size = grown
    complete = b"true" if len(items) == len(members) else b"false"
    return prefix + opening + b",".join(items) + b'],"complete":' + complete + b"}"


def presence_frame(event: str, room: str, name: str, count: int) -> bytes:
    """A ``presence`` frame: ``event`` is ``joined`` or ``left``; ``count`` names remain."""
    return _encode({"type": "presence", "event": event, "room": room, "name": name, "count": count})


def error_frame(
    code: ErrorCode,
    message: str,
    client_id: str | None = None,
    retry_after_ms: int | None = None,
) -> bytes:
    """An ``error`` frame; ``message`` is a human sentence without internals; ``client_id``
    names the ``sendmessage`` it concerns; ``retry_after_ms`` says when to try again."""
    frame: dict[str, object] = {"type": "error", "code": str(code), "message": message}
    if retry_after_ms is not None:
        frame["retryAfterMs"] = retry_after_ms
    if client_id is not None:
        frame["clientId"] = client_id
    return _encode(frame)


INTERNAL_ERROR_FRAME: Final = error_frame(
    ErrorCode.INTERNAL_ERROR, "Something went wrong on the server; please try again."
)
PAYLOAD_TOO_LARGE_FRAME: Final = error_frame(
    ErrorCode.PAYLOAD_TOO_LARGE, "The message is too large to deliver; send a shorter one."
)
