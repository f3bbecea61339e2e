"""The optional word filter before publish: ``BLOCKED_WORDS``, ``BLOCKED_WORDS_ACTION``.

A word of a message matches a blocked word when their ``names.name_key``s are equal: case,
marks, look-alike letters across Latin, Cyrillic and Greek, digits that pass for letters
(``g00d``) and the separators ``-``, ``_``, ``.`` inside a word (``b.a.d``) all fold away, as
they do for names. Whole words only: a blocked ``ass`` leaves ``class`` alone. Pure: nothing
here does I/O; ``usecases`` refuse (``message_blocked``) or store the masked text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from .errors import ClientError, ErrorCode
from .names import name_key

if TYPE_CHECKING:
    from .config import Settings

MASK: Final = "***"
# A word: letters, digits and marks, with inner ``-``, ``_``, ``.`` joining its parts.
_WORD: Final = re.compile(r"\w+(?:[\-_.]\w+)*")
_PART: Final = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class WordFilter:
    """The blocked words' keys; empty: the filter is off."""

    keys: frozenset[str]

    @classmethod
    def of(cls, words: Iterable[str]) -> WordFilter:
        """The filter of ``words`` (compared by ``name_key``; an empty key is dropped)."""
        return cls(frozenset(key for key in (name_key(w) for w in words) if key))

    def _blocked(self, word: str) -> bool:
        if name_key(word) in self.keys:
            return True
        return any(name_key(part) in self.keys for part in _PART.findall(word))

    def matches(self, text: str) -> bool:
        """Whether any word of ``text`` is blocked."""
        return bool(self.keys) and any(self._blocked(m.group()) for m in _WORD.finditer(text))

    def mask(self, text: str) -> str:
        """``text`` with each blocked word replaced by ``MASK``."""
        if not self.keys:
            return text
        return _WORD.sub(lambda m: MASK if self._blocked(m.group()) else m.group(), text)


@lru_cache(maxsize=4)
def _filter(words: tuple[str, ...]) -> WordFilter:
    """The container's filter of the configured words, built once."""
    return WordFilter.of(words)


def screen(
    text: str, settings: Settings, *, client_id: str | None = None, message_id: str | None = None
) -> tuple[str, bool]:
    """``text`` as it may be stored, and whether the filter changed it; raise
    ``message_blocked`` when it holds a blocked word and the action is ``refuse``."""
    found = _filter(settings.blocked_words)
    if not found.matches(text):
        return text, False
    if settings.blocked_words_action == "mask":
        return found.mask(text), True
    raise ClientError(
        ErrorCode.MESSAGE_BLOCKED,
        "The message holds a word this chat does not allow; nothing was sent.",
        client_id=client_id,
        message_id=message_id,
    )
