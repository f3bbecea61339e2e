"""Who is in a room, by display name: pure functions over the room index's entries.

A name may hold several connections (tabs, a page reconnecting while its old connection
lingers); presence is about names, so a name ``joined`` when it had no other connection and
``left`` when its last one is gone (docs/protocol.md, ``presence``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .connections import ConnectionId, RoomMember


@dataclass(frozen=True, slots=True)
class Member:
    """One display name present in a room."""

    name: str
    since_ms: int
    connections: int


def roster(entries: Iterable[RoomMember]) -> list[Member]:
    """The room's names, each once with its earliest connect time and connection count,
    ordered by that time (then name)."""
    since: dict[str, int] = {}
    counts: dict[str, int] = {}
    for entry in entries:
        since[entry.name] = min(since.get(entry.name, entry.connected_at_ms), entry.connected_at_ms)
        counts[entry.name] = counts.get(entry.name, 0) + 1
    return sorted(
        (Member(name, since[name], counts[name]) for name in since),
        key=lambda member: (member.since_ms, member.name),
    )


def present_elsewhere(name: str, entries: Iterable[RoomMember], besides: ConnectionId) -> bool:
    """Whether ``name`` holds a connection other than ``besides``."""
    return any(e.name == name and e.connection_id != besides for e in entries)


def names_gone(
    gone: Iterable[ConnectionId], entries: list[RoomMember]
) -> tuple[list[str], list[RoomMember]]:
    """The names whose every connection is among ``gone``, and the entries that remain."""
    gone_ids = set(gone)
    remaining = [e for e in entries if e.connection_id not in gone_ids]
    still_here = {e.name for e in remaining}
    left = sorted({e.name for e in entries if e.connection_id in gone_ids} - still_here)
    return left, remaining
