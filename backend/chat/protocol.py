"""The wire protocol of ``docs/protocol.md``: client frames in, server frames out.

Parsing turns a frame's body into a typed, frozen value or raises ``ClientError`` with one of the
documented codes; building returns the UTF-8 bytes that are posted to ``@connections``. Nothing
here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

from .actions import ACTIONS, HISTORY, JOIN, MEMBERS, PING, SENDMESSAGE
from .errors import ClientError, ErrorCode
from .ids import is_ulid, iso_utc
from .validation import clean_text

if TYPE_CHECKING:
    from .messages import StoredMessage
    from .presence import Member

__all__ = [
    "ACTIONS",
    "HISTORY",
    "HISTORY_DEFAULT_LIMIT",
    "HISTORY_FRAME_BUDGET",
    "HISTORY_MAX_LIMIT",
    "INTERNAL_ERROR_FRAME",
    "JOIN",
    "MEMBERS",
    "MEMBERS_FRAME_BUDGET",
    "MESSAGE_FRAME_MAX",
    "PAYLOAD_TOO_LARGE_FRAME",
    "PING",
    "SENDMESSAGE",
    "ClientFrame",
    "Direction",
    "ErrorCode",
    "History",
    "Join",
    "Members",
    "Ping",
    "SendMessage",
    "decode_body",
    "error_frame",
    "history_frame",
    "members_frame",
    "message_frame",
    "parse_frame",
    "parse_object",
    "pong_frame",
    "presence_frame",
    "stored_message_frame",
    "unknown_action",
]


MAX_CLIENT_ID_CHARS: Final = 64
_CLIENT_ID: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CLIENT_ID_CHARS}}}")
HISTORY_DEFAULT_LIMIT: Final = 50
HISTORY_MAX_LIMIT: Final = 100
# API Gateway accepts at most 128 KB per @connections post ("Quotas for configuring and running
# a WebSocket API"). A message frame is capped well below, so that any stored message fits in a
# history frame alone; a history frame stops taking messages at its budget, leaving 32 KiB spare.
MESSAGE_FRAME_MAX: Final = 64 * 1024
HISTORY_FRAME_BUDGET: Final = 96 * 1024
MEMBERS_FRAME_BUDGET: Final = 32 * 1024


class Direction(Enum):
    """Which way a history read goes from its cursor: the ``history`` frame's ``after`` or
    ``before`` field (its value names the field), or neither (the newest messages)."""

    LATEST = "latest"  # the newest messages of the room
    BEFORE = "before"  # older than the cursor
    AFTER = "after"  # newer than the cursor


@dataclass(frozen=True, slots=True)
class SendMessage:
    """``{"action": "sendmessage", "text": ..., "clientId": ...}``, checked; ``text`` trimmed."""

    text: str
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """``{"action": "history", "after"|"before": ..., "limit": ...}``, checked."""

    direction: Direction = Direction.LATEST
    cursor: str | None = None
    limit: int = HISTORY_DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class Ping:
    """``{"action": "ping"}``."""


@dataclass(frozen=True, slots=True)
class Join:
    """``{"action": "join", ...}``: the member list, then the history page ``history`` asks."""

    history: History = History()


@dataclass(frozen=True, slots=True)
class Members:
    """``{"action": "members"}``."""


ClientFrame = SendMessage | History | Join | Members | Ping


def decode_body(body: str | None, *, is_base64: bool = False) -> str:
    """Return a frame's text; a binary frame that is not UTF-8 is ``invalid_json``."""
    if body is None:
        raise ClientError(ErrorCode.INVALID_JSON, "The frame is empty; send a JSON object.")
    if not is_base64:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ClientError(ErrorCode.INVALID_JSON, "The frame is not UTF-8 JSON text.") from None


def parse_object(body: str | None, *, is_base64: bool = False) -> dict[str, object]:
    """Parse a frame that must be a JSON object (``invalid_json`` / ``invalid_frame``)."""
    text = decode_body(body, is_base64=is_base64)
    try:
        value: object = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ClientError(ErrorCode.INVALID_JSON, "The frame is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ClientError(ErrorCode.INVALID_FRAME, "The frame must be a JSON object.")
    return value


def parse_frame(body: str | None, *, max_chars: int, is_base64: bool = False) -> ClientFrame:
    """Parse a client frame into one of ``ClientFrame``'s types; raise ``ClientError``
    otherwise.

    Fields an action does not define are ignored: a ``from`` or ``room`` in the frame never
    reaches the broadcast or the history read.
    """
    frame = parse_object(body, is_base64=is_base64)
    action = frame.get("action")
    if action == SENDMESSAGE:
        return _send_message(frame, max_chars)
    if action == HISTORY:
        return _history(frame)
    if action == JOIN:
        return Join(_history(frame))
    if action == MEMBERS:
        return Members()
    if action == PING:
        return Ping()
    raise unknown_action()


def _send_message(frame: dict[str, object], max_chars: int) -> SendMessage:
    client_id = frame.get("clientId")
    if client_id is not None and not (
        isinstance(client_id, str) and _CLIENT_ID.fullmatch(client_id)
    ):
        raise ClientError(
            ErrorCode.INVALID_FIELD,
            f"The field 'clientId' must be 1 to {MAX_CLIENT_ID_CHARS} of A-Z a-z 0-9 _ -.",
        )
    text = frame.get("text")
    try:
        if not isinstance(text, str):
            raise ClientError(ErrorCode.INVALID_FIELD, "The field 'text' must be a string.")
        return SendMessage(clean_text(text, max_chars), client_id)
    except ClientError as error:
        raise error.about(client_id) from None


def _history(frame: dict[str, object]) -> History:
    after, before = frame.get("after"), frame.get("before")
    if after is not None and before is not None:
        raise ClientError(ErrorCode.INVALID_FIELD, "Give 'after' or 'before', not both.")
    direction, cursor = Direction.LATEST, None
    if after is not None:
        direction, cursor = Direction.AFTER, _cursor("after", after)
    elif before is not None:
        direction, cursor = Direction.BEFORE, _cursor("before", before)
    limit = frame.get("limit", HISTORY_DEFAULT_LIMIT)
    # bool is an int in Python, never in the protocol.
    if type(limit) is not int or not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise ClientError(
            ErrorCode.INVALID_FIELD,
            f"The field 'limit' must be a whole number from 1 to {HISTORY_MAX_LIMIT}.",
        )
    return History(direction, cursor, limit)


def _cursor(name: str, value: object) -> str:
    cursor = value.upper() if isinstance(value, str) else ""
    if not is_ulid(cursor):
        raise ClientError(
            ErrorCode.INVALID_CURSOR, f"The field {name!r} must be a message id (a ULID)."
        )
    return cursor


def unknown_action() -> ClientError:
    """The error for a frame whose ``action`` is missing or not one we know."""
    actions = ", ".join(sorted(ACTIONS))
    return ClientError(ErrorCode.UNKNOWN_ACTION, f"The field 'action' must be one of: {actions}.")


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
