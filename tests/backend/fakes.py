"""Small recording fakes for the backend's ports (sender, store) and the Lambda context."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chat.connections import (
    Admission,
    Caps,
    Connection,
    ConnectionId,
    MemberList,
    Refusal,
    RoomMember,
    Sanctions,
)
from chat.errors import (
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)
from chat.ratelimit import Budget, decide
from chat.room_shards import room_shard


class RecordingSender:
    """A ``Sender`` that records every post and raises scripted errors per connection.

    ``script[connection_id]`` is a list consumed one attempt at a time: an exception instance is
    raised, ``None`` means deliver. An empty or missing script delivers.
    """

    def __init__(
        self,
        script: dict[str, list[BaseException | None]] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.script = {key: list(value) for key, value in (script or {}).items()}
        self.delay_s = delay_s
        self.attempts: dict[str, int] = defaultdict(int)
        self.delivered: dict[str, list[bytes]] = defaultdict(list)
        self.deleted: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """Record an attempt, then deliver or raise what the script says."""
        with self._lock:
            self.attempts[connection_id] += 1
            steps = self.script.get(connection_id)
            step = steps.pop(0) if steps else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if step is not None:
                raise step
            with self._lock:
                self.delivered[connection_id].append(data)
        finally:
            with self._lock:
                self.in_flight -= 1

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """Record a close; raise what the script says for it, as ``post`` does."""
        with self._lock:
            steps = self.script.get(connection_id)
            step = steps.pop(0) if steps else None
        if step is not None:
            raise step
        with self._lock:
            self.deleted.append(connection_id)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """The JSON frames delivered to ``connection_id``."""
        return [json.loads(data) for data in self.delivered.get(connection_id, [])]

    def all_frames(self) -> list[dict[str, Any]]:
        """Every frame delivered to anyone."""
        return [json.loads(data) for datas in self.delivered.values() for data in datas]


@dataclass
class MemoryStore:
    """A ``ConnectionStore`` in a dict, recording deletes; ``fail_delete`` makes deletes raise."""

    items: dict[str, Connection] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    fail_delete: bool = False
    tats: dict[tuple[str, str], int] = field(default_factory=dict)

    def put(self, connection: Connection) -> None:
        """Store ``connection``."""
        self.items[connection.connection_id] = connection

    def enter(
        self,
        connection: Connection,
        *,
        name_key: str,
        source: str,
        user: str,
        caps: Caps,
        now_s: int,
        sanctions: Sanctions | None = None,
    ) -> Refusal | None:
        """Store ``connection`` if its room has a seat (one thread at a time: no claims, no
        sanctions)."""
        del name_key, source, user, now_s, sanctions
        if sum(c.room == connection.room for c in self.items.values()) >= caps.room:
            return Refusal.ROOM_FULL
        self.put(connection)
        return None

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        """Forget ``connection_id`` unless it connected at or after ``connected_before_ms``."""
        if self.fail_delete:
            raise RuntimeError("table unavailable")
        stored = self.items.get(connection_id)
        if stored is not None and stored.connected_at_ms >= connected_before_ms:
            return False
        self.deleted.append(connection_id)
        self.items.pop(connection_id, None)
        return True

    def remove(self, connection_id: ConnectionId) -> Connection | None:
        """Forget ``connection_id`` and return what was stored."""
        self.deleted.append(connection_id)
        return self.items.pop(connection_id, None)

    def admit(self, connection_id: ConnectionId, budget: Budget, now_ms: int) -> Admission:
        """GCRA over a dict, as the table does it."""
        connection = self.items.get(connection_id)
        if connection is None:
            return Admission(None)
        key = (connection_id, budget.attribute)
        verdict = decide(self.tats.get(key), now_ms, budget)
        if not verdict.allowed:
            return Admission(connection, verdict.retry_after_ms)
        self.tats[key] = verdict.next_tat_ms
        return Admission(connection)

    def admit_shared(self, key: str, budget: Budget, now_ms: int) -> int:
        """GCRA over a dict for a shared counter, as the table does it."""
        verdict = decide(self.tats.get((key, budget.attribute)), now_ms, budget)
        if not verdict.allowed:
            return verdict.retry_after_ms
        self.tats[(key, budget.attribute)] = verdict.next_tat_ms
        return 0

    def members(self, room: str, now_s: int) -> Iterator[RoomMember]:
        """Unexpired members of ``room``."""
        members = [c for c in self.items.values() if c.room == room and c.expires_at_s > now_s]
        for connection in members:
            yield RoomMember(connection.connection_id, connection.name, connection.connected_at_ms)

    def shard_members(self, shards: list[str], now_s: int) -> Iterator[RoomMember]:
        """Unexpired members listed in ``shards``, as the room index keys them."""
        for connection in list(self.items.values()):
            listed = room_shard(connection.room, connection.connection_id) in shards
            if listed and connection.expires_at_s > now_s:
                yield RoomMember(
                    connection.connection_id, connection.name, connection.connected_at_ms
                )

    def list_members(self, room: str, now_s: int, limit: int) -> MemberList:
        """The first ``limit`` unexpired members of ``room``, and whether that is all."""
        members = list(self.members(room, now_s))
        return MemberList(tuple(members[:limit]), complete=len(members) <= limit)

    def live_connections(self, room: str, now_s: int) -> int:
        """Unexpired connections of ``room`` (the table counts them in seat counters)."""
        return sum(1 for _ in self.members(room, now_s))

    def name_holders(self, room: str, name_key: str, now_s: int) -> list[ConnectionId]:
        """Unexpired connections of ``room`` whose name has the key ``name_key``."""
        from chat.names import name_key as key_of  # noqa: PLC0415 (a ping's cold start never loads it)

        return [m.connection_id for m in self.members(room, now_s) if key_of(m.name) == name_key]

    def add(self, connection_id: str, room: str = "lobby", name: str | None = None) -> None:
        """Test helper: store a live connection."""
        self.put(
            Connection(
                connection_id=ConnectionId(connection_id),
                room=room,
                name=name or f"user-{connection_id}",
                connected_at_ms=0,
                expires_at_s=4_000_000_000,
            )
        )


@dataclass
class FakeContext:
    """The parts of the Lambda context the handler reads."""

    remaining: Callable[[], int] = lambda: 30_000
    aws_request_id: str = "req-0001"
    function_name: str = "awsome-chat-test-handler"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left in this invocation."""
        return self.remaining()


# What each error status of the @connections API must become (issue 2): 410 prunes, 413 tells
# the sender, 403 is a configuration error, 429 and 5xx are retried. Both senders are held to it.
ERROR_STATUSES: list[tuple[int, type[DeliveryFailed]]] = [
    (410, ConnectionGone),
    (413, PayloadTooLarge),
    (403, DeliveryForbidden),
    (429, RetryableDeliveryError),
    (500, RetryableDeliveryError),
    (503, RetryableDeliveryError),
]
