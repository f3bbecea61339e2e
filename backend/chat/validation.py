"""The rules for names, rooms and message text (docs/protocol.md); pure functions.

``clean_name`` and ``clean_room`` return ``None`` for a bad value and let the caller decide how
to refuse (``$connect`` answers 400); ``clean_text`` raises ``ClientError`` with the wire code.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from .errors import ClientError, ErrorCode
from .names import MAX_NAME_CHARS, name_problem, normalize_name

__all__ = [
    "DEFAULT_ROOM",
    "MAX_NAME_CHARS",
    "MAX_ROOM_CHARS",
    "clean_name",
    "clean_profile_name",
    "clean_room",
    "clean_text",
]

MAX_ROOM_CHARS: Final = 64
DEFAULT_ROOM: Final = "lobby"
_ROOM: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ROOM_CHARS}}}")
# Text may hold newlines and tabs; no other C0 or C1 control (they can break or disguise a
# line), and no bidirectional override or isolate (``invoice_\u202efdp.exe`` shows as
# "invoice_exe.pdf").
_REFUSED_IN_TEXT: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_name(raw: str) -> str | None:
    """The normalised name (``names.normalize_name``) if ``names.name_problem`` finds nothing
    wrong with it, else ``None``."""
    name = normalize_name(raw)
    return None if name_problem(name) is not None else name


def clean_profile_name(raw: str) -> str | None:
    """A signed-in user's display name (from the authorizer): normalised and cut to
    ``MAX_NAME_CHARS``, since the user cannot pick a shorter one when connecting, then held to
    ``clean_name``'s rules; ``None`` when they refuse it."""
    return clean_name(normalize_name(raw)[:MAX_NAME_CHARS])


def clean_room(raw: str) -> str | None:
    """Return ``raw`` if it is 1 to 64 of ``A-Z a-z 0-9 _ -``, else ``None`` (no trimming)."""
    return raw if _ROOM.fullmatch(raw) else None


def clean_text(raw: str, max_chars: int) -> str:
    """Trim a message's text and check its length in code points; raise ``ClientError``."""
    text = raw.strip()
    if not text:
        raise ClientError(ErrorCode.EMPTY_MESSAGE, "The message is empty.")
    if len(text) > max_chars:
        raise ClientError(
            ErrorCode.MESSAGE_TOO_LONG, f"Messages can be at most {max_chars} characters."
        )
    # A lone surrogate (a JSON "\ud800" escape) is not text and cannot be sent on as UTF-8.
    if any(unicodedata.category(char) == "Cs" for char in text):
        raise ClientError(ErrorCode.INVALID_FIELD, "The field 'text' is not valid Unicode text.")
    if _REFUSED_IN_TEXT.search(text):
        raise ClientError(
            ErrorCode.INVALID_FIELD,
            "Messages cannot hold control characters (other than new lines and tabs) or "
            "text-direction overrides.",
        )
    return text
