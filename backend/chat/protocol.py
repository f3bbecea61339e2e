"""The client frames of ``docs/protocol.md``: what a connection sends, parsed and checked.

Parsing turns a frame's body into a typed, frozen value or raises ``ClientError`` with one of the
documented codes. The frames the server sends are ``frames``'; nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Final

from .actions import (
    ACTIONS,
    CHANGES,
    DELETEMESSAGE,
    EDITMESSAGE,
    HISTORY,
    JOIN,
    MEMBERS,
    PING,
    REACT,
    SENDMESSAGE,
    TYPING,
)
from .emoji import MAX_EMOJI_BYTES, is_emoji
from .errors import ClientError, ErrorCode
from .ids import is_ulid
from .stored import ChangesCursor, Direction
from .validation import clean_text

__all__ = [
    "ACTIONS",
    "CHANGES",
    "DELETEMESSAGE",
    "EDITMESSAGE",
    "HISTORY",
    "HISTORY_DEFAULT_LIMIT",
    "HISTORY_MAX_LIMIT",
    "JOIN",
    "MEMBERS",
    "PING",
    "REACT",
    "SENDMESSAGE",
    "TYPING",
    "Changes",
    "ClientFrame",
    "DeleteMessage",
    "EditMessage",
    "ErrorCode",
    "History",
    "Join",
    "Members",
    "Ping",
    "React",
    "SendMessage",
    "Typing",
    "decode_body",
    "parse_frame",
    "parse_object",
    "unknown_action",
]


MAX_CLIENT_ID_CHARS: Final = 64
_CLIENT_ID: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CLIENT_ID_CHARS}}}")
HISTORY_DEFAULT_LIMIT: Final = 50
HISTORY_MAX_LIMIT: Final = 100


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
    """``{"action": "join", ...}``: the member list, then the history page ``history`` asks,
    or, with ``since``, the first page of ``changes``."""

    history: History = History()
    since: int | None = None


@dataclass(frozen=True, slots=True)
class EditMessage:
    """``{"action": "editmessage", "id": ..., "text": ...}``, checked; ``text`` trimmed."""

    message_id: str
    text: str


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    """``{"action": "deletemessage", "id": ...}``, checked."""

    message_id: str


@dataclass(frozen=True, slots=True)
class React:
    """``{"action": "react", "id": ..., "emoji": ...}``, checked."""

    message_id: str
    emoji: str


@dataclass(frozen=True, slots=True)
class Typing:
    """``{"action": "typing"}``."""


@dataclass(frozen=True, slots=True)
class Changes:
    """``{"action": "changes", "since"|"cursor": ..., "limit": ...}``, checked: exactly one of
    ``since`` (epoch ms) and ``cursor``."""

    since: int | None = None
    cursor: ChangesCursor | None = None
    limit: int = HISTORY_DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class Members:
    """``{"action": "members"}``."""


ClientFrame = (
    SendMessage
    | History
    | Join
    | Members
    | Ping
    | EditMessage
    | DeleteMessage
    | React
    | Typing
    | Changes
)
# The largest epoch-ms time a ULID (and so a message) can carry.
MAX_TIME_MS: Final = (1 << 48) - 1


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
        return _join(frame)
    if action == MEMBERS:
        return Members()
    if action == PING:
        return Ping()
    return _change_frame(frame, action, max_chars)


def _change_frame(frame: dict[str, object], action: object, max_chars: int) -> ClientFrame:
    """The actions that change a stored message, typing, and catching up."""
    if action == TYPING:
        return Typing()
    if action == CHANGES:
        return _changes(frame)
    if action not in (EDITMESSAGE, DELETEMESSAGE, REACT):
        raise unknown_action()
    message_id = _message_id(frame)
    try:
        if action == DELETEMESSAGE:
            return DeleteMessage(message_id)
        if action == REACT:
            return React(message_id, _emoji(frame))
        text = frame.get("text")
        if not isinstance(text, str):
            raise ClientError(ErrorCode.INVALID_FIELD, "The field 'text' must be a string.")
        return EditMessage(message_id, clean_text(text, max_chars))
    except ClientError as error:
        raise error.targeting(message_id) from None


def _message_id(frame: dict[str, object]) -> str:
    value = frame.get("id")
    message_id = value.upper() if isinstance(value, str) else ""
    if not is_ulid(message_id):
        raise ClientError(ErrorCode.INVALID_FIELD, "The field 'id' must be a message id (a ULID).")
    return message_id


def _emoji(frame: dict[str, object]) -> str:
    emoji = frame.get("emoji")
    if not isinstance(emoji, str) or not is_emoji(emoji):
        raise ClientError(
            ErrorCode.INVALID_EMOJI,
            f"The field 'emoji' must be one emoji (at most {MAX_EMOJI_BYTES} bytes).",
        )
    return emoji


def _limit(frame: dict[str, object]) -> int:
    limit = frame.get("limit", HISTORY_DEFAULT_LIMIT)
    # bool is an int in Python, never in the protocol.
    if type(limit) is not int or not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise ClientError(
            ErrorCode.INVALID_FIELD,
            f"The field 'limit' must be a whole number from 1 to {HISTORY_MAX_LIMIT}.",
        )
    return limit


def _since(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_TIME_MS:
        raise ClientError(
            ErrorCode.INVALID_FIELD,
            "The field 'since' must be a time in epoch milliseconds (a whole number, 0 or more).",
        )
    return value


def _changes(frame: dict[str, object]) -> Changes:
    since, cursor = frame.get("since"), frame.get("cursor")
    if (since is None) == (cursor is None):
        raise ClientError(ErrorCode.INVALID_FIELD, "Give exactly one of 'since' and 'cursor'.")
    limit = _limit(frame)
    if since is not None:
        return Changes(since=_since(since), limit=limit)
    decoded = ChangesCursor.decode(cursor) if isinstance(cursor, str) else None
    if decoded is None:
        raise ClientError(
            ErrorCode.INVALID_CURSOR, "The field 'cursor' must be a cursor a changes frame gave."
        )
    return Changes(cursor=decoded, limit=limit)


def _join(frame: dict[str, object]) -> Join:
    since = frame.get("since")
    if since is None:
        return Join(_history(frame))
    if frame.get("after") is not None or frame.get("before") is not None:
        raise ClientError(ErrorCode.INVALID_FIELD, "Give 'since' or 'after'/'before', not both.")
    return Join(History(limit=_limit(frame)), since=_since(since))


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
    return History(direction, cursor, _limit(frame))


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
