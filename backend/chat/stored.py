"""What a message is, as the messages table stores it, and which way a history read goes: pure
values shared by the table's adapter (``messages``) and the server frames (``frames``), so that
neither imports the other."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import Final

from .ids import is_ulid


class Direction(Enum):
    """Which way a history read goes from its cursor: the ``history`` frame's ``after`` or
    ``before`` field (its value names the field), or neither (the newest messages)."""

    LATEST = "latest"  # the newest messages of the room
    BEFORE = "before"  # older than the cursor
    AFTER = "after"  # newer than the cursor


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji on a message: who put it there (reactor ids, never names; ``reactor_id``)."""

    emoji: str
    reactors: frozenset[str]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as the table holds it: its current state (``rev`` counts its changes)."""

    message_id: str
    room: str
    sender: str
    text: str
    sent_at_ms: int
    expires_at_s: int
    owner: str = ""
    rev: int = 1
    changed_at_ms: int = 0
    edited_at_ms: int | None = None
    deleted: bool = False
    reactions: tuple[Reaction, ...] = ()
    """In first-reacted order; empty for a tombstone."""
    deleted_by: str = ""
    """A tombstone's ``DELETED_BY_AUTHOR`` or ``DELETED_BY_MODERATOR`` (empty: the author's,
    as every tombstone written before moderators existed)."""


DELETED_BY_AUTHOR: Final = "author"
DELETED_BY_MODERATOR: Final = "moderator"


@dataclass(frozen=True, slots=True)
class ReactionChange:
    """Who toggled which emoji which way: the ``reacted`` field of the live frame."""

    name: str
    emoji: str
    on: bool


def message_owner(owner: str, connection_id: str) -> str:
    """Whose a message is: the connection's owner digest (a signed-in user's, or the name
    key's), else the connection itself (a guest without a key owns only what it sends on
    this socket)."""
    return owner or f"connection#{connection_id}"


def reactor_id(owner: str) -> str:
    """The compact id a reaction stores for its reactor (11 characters, 66 bits of a digest of
    the owner): short, because a message may hold thousands, and never a name."""
    digest = hashlib.sha256(b"awsome-chat reactor\0" + owner.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


_MAX_TIME_MS: Final = (1 << 48) - 1


@dataclass(frozen=True, slots=True)
class ChangesCursor:
    """Where a ``changes`` read stopped: the last returned message's ``changedAt`` and id."""

    changed_at_ms: int
    message_id: str

    def encode(self) -> str:
        """The opaque ``cursor`` field: base64url of ``{changedAt}.{id}``."""
        raw = f"{self.changed_at_ms}.{self.message_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(value: str) -> ChangesCursor | None:
        """The cursor ``encode`` wrote, or ``None`` for anything else."""
        if not 28 <= len(value) <= 64:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        changed, _, message_id = raw.partition(".")
        if not changed.isdigit() or len(changed) > 15 or not is_ulid(message_id):
            return None
        cursor = ChangesCursor(int(changed), message_id)
        # Canonical only: one cursor per position (no leading zeros, no padding variants).
        if cursor.changed_at_ms > _MAX_TIME_MS or cursor.encode() != value:
            return None
        return cursor
