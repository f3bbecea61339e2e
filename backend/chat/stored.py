"""What a message is, as the messages table stores it, and which way a history read goes: pure
values shared by the table's adapter (``messages``) and the server frames (``frames``), so that
neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Direction(Enum):
    """Which way a history read goes from its cursor: the ``history`` frame's ``after`` or
    ``before`` field (its value names the field), or neither (the newest messages)."""

    LATEST = "latest"  # the newest messages of the room
    BEFORE = "before"  # older than the cursor
    AFTER = "after"  # newer than the cursor


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as the table holds it."""

    message_id: str
    room: str
    sender: str
    text: str
    sent_at_ms: int
    expires_at_s: int
