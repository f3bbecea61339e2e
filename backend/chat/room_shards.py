"""The room index's shards: which ``{room}#{k}`` partition of ``room-index`` a connection is
listed in, and the pool that queries a room's shards in parallel."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Final

ROOM_SHARDS: Final = 8
"""How many index partitions a room spreads over. One GSI partition takes about 1,000 writes and
3,000 reads a second: 8 shards let 8,000 members join a second and list 100,000 members in
12,500-item slices, while a small room's read costs 8 Queries (8 x 0.5 read units, run in
parallel) instead of one. Changing it re-keys every live connection: set it before a deploy."""


def shard_number(connection_id: str, shards: int = ROOM_SHARDS) -> int:
    """Which of ``shards`` a connection falls in: a stable hash of its id (not Python's
    ``hash``, which is salted per process)."""
    digest = hashlib.blake2b(connection_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def room_shard(room: str, connection_id: str) -> str:
    """The ``ROOM_SHARD_ATTRIBUTE`` value of a connection of ``room``."""
    return f"{room}#{shard_number(connection_id)}"


def room_shards(room: str) -> list[str]:
    """Every shard key of ``room``, in order."""
    return [f"{room}#{k}" for k in range(ROOM_SHARDS)]


_POOL: list[ThreadPoolExecutor] = []


def query_pool() -> ThreadPoolExecutor:
    """One pool per container for the shards' Queries (created on first read)."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=ROOM_SHARDS, thread_name_prefix="shards"))
    return _POOL[0]
