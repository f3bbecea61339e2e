"""The rules for names, rooms and message text (docs/protocol.md); pure functions.

``clean_name`` and ``clean_room`` return ``None`` for a bad value and let the caller decide how
to refuse (``$connect`` answers 400); ``clean_text`` raises ``ClientError`` with the wire code.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from .errors import ClientError, ErrorCode

MAX_NAME_CHARS: Final = 32
MAX_ROOM_CHARS: Final = 64
DEFAULT_ROOM: Final = "lobby"
_ROOM: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ROOM_CHARS}}}")
# Control, format, surrogate, unassigned, line and paragraph separators: nothing a name should
# hold, and the surrogates could not even be encoded as UTF-8.
_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


def _printable(text: str) -> bool:
    return all(unicodedata.category(char) not in _UNPRINTABLE for char in text)


def clean_name(raw: str) -> str | None:
    """Trim ``raw``; return it if it is 1 to 32 printable characters, else ``None``."""
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS or not _printable(name):
        return None
    return name


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
    return text
