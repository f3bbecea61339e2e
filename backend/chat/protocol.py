"""The wire protocol of ``docs/protocol.md``: client frames in, server frames out.

Parsing turns a frame's body into a typed, frozen value or raises ``ClientError`` with one of the
documented codes; building returns the UTF-8 bytes that are posted to ``@connections``. Nothing
here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Final

from .errors import ClientError, ErrorCode
from .validation import clean_text

__all__ = [
    "ACTIONS",
    "INTERNAL_ERROR_FRAME",
    "PAYLOAD_TOO_LARGE_FRAME",
    "PING",
    "SENDMESSAGE",
    "ClientFrame",
    "ErrorCode",
    "Ping",
    "SendMessage",
    "decode_body",
    "error_frame",
    "message_frame",
    "parse_frame",
    "parse_object",
    "pong_frame",
    "unknown_action",
]

SENDMESSAGE: Final = "sendmessage"
PING: Final = "ping"
ACTIONS: Final = frozenset({SENDMESSAGE, PING})


@dataclass(frozen=True, slots=True)
class SendMessage:
    """``{"action": "sendmessage", "text": ...}`` with ``text`` already trimmed and checked."""

    text: str


@dataclass(frozen=True, slots=True)
class Ping:
    """``{"action": "ping"}``."""


ClientFrame = SendMessage | Ping


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
    """Parse a client frame into ``SendMessage`` or ``Ping``; raise ``ClientError`` otherwise.

    Fields other than ``action`` and ``text`` are ignored: a ``from`` or ``room`` in the frame
    never reaches the broadcast.
    """
    frame = parse_object(body, is_base64=is_base64)
    action = frame.get("action")
    if action == SENDMESSAGE:
        text = frame.get("text")
        if not isinstance(text, str):
            raise ClientError(ErrorCode.INVALID_FIELD, "The field 'text' must be a string.")
        return SendMessage(clean_text(text, max_chars))
    if action == PING:
        return Ping()
    raise unknown_action()


def unknown_action() -> ClientError:
    """The error for a frame whose ``action`` is missing or not one we know."""
    actions = ", ".join(sorted(ACTIONS))
    return ClientError(ErrorCode.UNKNOWN_ACTION, f"The field 'action' must be one of: {actions}.")


def _encode(frame: dict[str, str]) -> bytes:
    # Compact, and UTF-8 rather than \u escapes: a frame is capped at 128 KB.
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def message_frame(*, message_id: str, room: str, sender: str, text: str, sent_at: str) -> bytes:
    """The ``message`` frame every connection of the room receives."""
    return _encode(
        {
            "type": "message",
            "id": message_id,
            "room": room,
            "from": sender,
            "text": text,
            "sentAt": sent_at,
        }
    )


def pong_frame() -> bytes:
    """The reply to ``ping``."""
    return _encode({"type": "pong"})


def error_frame(code: ErrorCode, message: str) -> bytes:
    """An ``error`` frame; ``message`` is a human sentence without internals."""
    return _encode({"type": "error", "code": str(code), "message": message})


INTERNAL_ERROR_FRAME: Final = error_frame(
    ErrorCode.INTERNAL_ERROR, "Something went wrong on the server; please try again."
)
PAYLOAD_TOO_LARGE_FRAME: Final = error_frame(
    ErrorCode.PAYLOAD_TOO_LARGE, "The message is too large to deliver; send a shorter one."
)
