"""The connections table's facts: its attribute names and schema (``TABLE_SCHEMA``), the
records it stores (``Connection``, ``RoomMember``...) and the port the use cases call
(``ConnectionStore``).

The key design, and the DynamoDB calls, are ``chat.connection_table``'s (docs/internals.md,
"The connections table"); the item codec is ``chat.connection_items``, the room index's shard
keys ``chat.room_shards``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NewType, Protocol

from .ratelimit import Budget

ConnectionId = NewType("ConnectionId", str)

# The table's names (docs/internals.md, "The connections table"): its schema (TABLE_SCHEMA,
# below) and the tests are built from these.
CONNECTION_ID_ATTRIBUTE: Final = "connectionId"
"""The table's hash key (S)."""
ROOM_ATTRIBUTE: Final = "room"
"""The room (S); the hash key of ``ROOM_INDEX``."""
NAME_ATTRIBUTE: Final = "name"
CONNECTED_AT_ATTRIBUTE: Final = "connectedAt"
TTL_ATTRIBUTE: Final = "expiresAt"
"""Expiry in epoch seconds (N): the table's TTL attribute, projected into ``ROOM_INDEX``."""
ROOM_INDEX: Final = "room-index"
ROOM_SHARD_ATTRIBUTE: Final = "roomShard"
"""The room's shard a connection is listed in (S, ``{room}#{k}``): the hash key of ``ROOM_INDEX``
(see ``room_shards.room_shard``)."""
# The rate limits' GCRA times (epoch ms), one per budget; never projected into the index.
MESSAGES_RATE_ATTRIBUTE: Final = "tatMessages"
READS_RATE_ATTRIBUTE: Final = "tatReads"
PINGS_RATE_ATTRIBUTE: Final = "tatPings"
OWNER_ATTRIBUTE: Final = "owner"
"""A digest of the proof the connection presented for its name (S; empty for none)."""
CONNECT_COUNT_ATTRIBUTE: Final = "connects"
"""Connect counters' count (N), on items keyed ``connect#...`` (see ``count_connect``)."""
LIVE_ATTRIBUTE: Final = "live"
"""Live connections (N) on a counter item (``seats#...``, ``live#...``; see ``enter``)."""
HOLDERS_ATTRIBUTE: Final = "holders"
"""Live connections holding a name (N), on its claim item ``name#{room}#{name key}``."""
HOLDER_IDS_ATTRIBUTE: Final = "holderIds"
"""The ids of the connections holding a name (SS, on its claim item, beside ``holders``): a
moderator's action finds its target's connections by one read, whatever the room's size."""
COUNTERS_ATTRIBUTE: Final = "counters"
"""The keys of the counter items a connection added one to (SS, on its item)."""
CLAIM_ATTRIBUTE: Final = "claim"
"""The key of the name claim a connection holds (S, on its item)."""
ROOM_INDEX_ATTRIBUTES: Final = (
    TTL_ATTRIBUTE,
    NAME_ATTRIBUTE,
    CONNECTED_AT_ATTRIBUTE,
    OWNER_ATTRIBUTE,
)
"""What ``ROOM_INDEX`` projects besides the keys: expiry for the fan-out, names and connect
times for the member list."""
# The table as ``create_table`` arguments: what the local stack and the tests create, and what
# a Terraform test and the rehearsal hold terraform/dynamodb.tf to.
TABLE_SCHEMA: Final[dict[str, Any]] = {
    "AttributeDefinitions": [
        {"AttributeName": CONNECTION_ID_ATTRIBUTE, "AttributeType": "S"},
        {"AttributeName": ROOM_SHARD_ATTRIBUTE, "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": CONNECTION_ID_ATTRIBUTE, "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [
        {
            "IndexName": ROOM_INDEX,
            "KeySchema": [{"AttributeName": ROOM_SHARD_ATTRIBUTE, "KeyType": "HASH"}],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": list(ROOM_INDEX_ATTRIBUTES),
            },
        }
    ],
}
"""``create_table`` keyword arguments for the connections table, except ``TableName``."""


@dataclass(frozen=True, slots=True)
class Connection:
    """One open WebSocket, as stored."""

    connection_id: ConnectionId
    room: str
    name: str
    connected_at_ms: int
    expires_at_s: int
    owner: str = ""
    # Moderation (``chat.sanctions``): the role the connection got at ``$connect`` or
    # by ``moderate``; until when (epoch s, 0: not) it may not speak; its source's digest.
    moderator: bool = False
    muted_until_s: int = 0
    source: str = ""


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of ``admit``: the stored connection (``None``: not connected), and how long
    to wait when the action is over its budget (0: allowed)."""

    connection: Connection | None
    retry_after_ms: int = 0


@dataclass(frozen=True, slots=True)
class Caps:
    """How many live connections ``enter`` allows: in the room (``room``), and to one source
    address or one signed-in user in the room (``per_room``) and in all rooms (``total``)."""

    room: int
    per_room: int
    total: int


class Refusal(StrEnum):
    """Why ``enter`` did not store a connection, most important first."""

    BANNED = "banned"
    """A ban of its room covers its name, user or source (``chat.sanctions``)."""
    ROOM_FULL = "room_full"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    NAME_TAKEN = "name_taken"
    BUSY = "busy"
    """Other entries kept conflicting with this one (DynamoDB's ``TransactionConflict``)."""


@dataclass(frozen=True, slots=True)
class Sanctions:
    """The mute and ban items (``chat.sanctions.sanction_keys``) that ``enter`` checks."""

    bans: tuple[str, ...] = ()
    mutes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoomMember:
    """One unexpired connection of a room, as the room index lists it."""

    connection_id: ConnectionId
    name: str
    connected_at_ms: int
    owner: str = ""


@dataclass(frozen=True, slots=True)
class MemberList:
    """The first connections of a room that a bounded read found (``list_members``), and
    whether they are all of them (``complete``)."""

    members: tuple[RoomMember, ...]
    complete: bool


class ConnectionStore(Protocol):
    """What the use cases need from the connections table."""

    def put(self, connection: Connection) -> None:
        """Store (or overwrite) a connection."""

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
        """Store a new connection if its room, its ``source`` address and its signed-in
        ``user`` (digests; empty: none) are under ``caps`` and its name (compared by
        ``name_key``) is free in the room or held by its own ``owner``, and no ban of
        ``sanctions`` holds (an unexpired mute is stamped on it); else say why not.
        Exact under concurrency."""

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        """Forget a connection API Gateway called gone, and release what it held, unless it
        connected at or after ``connected_before_ms`` (its handshake may still be finishing);
        True if it is not stored any more (a missing one is fine), False if it was kept."""

    def remove(self, connection_id: ConnectionId) -> Connection | None:
        """Forget a connection, release what it held, and return what was stored (``None`` if
        nothing was: then nothing is released, so a second call releases nothing twice)."""

    def admit(self, connection_id: ConnectionId, budget: Budget, now_ms: int) -> Admission:
        """Spend one action of ``budget`` and return the stored connection, or say how long to
        wait; a connection that is not stored is ``Admission(None)``."""

    def members(self, room: str, now_s: int) -> Iterator[RoomMember]:
        """Every unexpired connection of ``room``, lazily, page by page."""

    def shard_members(self, shards: list[str], now_s: int) -> Iterator[RoomMember]:
        """Every unexpired connection listed in the given room shards (``room_shards``)."""

    def list_members(self, room: str, now_s: int, limit: int) -> MemberList:
        """At most ``limit`` unexpired connections of ``room``, reading about ``limit`` index
        entries whatever the room's size; ``complete`` when they are all of the room's."""

    def live_connections(self, room: str, now_s: int) -> int:
        """The room's live connections as its seat counters hold them (``chat.seats``)."""

    def name_holders(self, room: str, name_key: str, now_s: int) -> list[ConnectionId]:
        """The connections holding the name ``name_key`` in ``room`` (its claim's record)."""

    def count_connect(self, source: str, window_s: int, expires_at_s: int) -> int:
        """Count one connection attempt from ``source`` in the window starting at ``window_s``;
        return the window's count so far."""

    def admit_shared(self, key: str, budget: Budget, now_ms: int) -> int:
        """Spend one action of ``budget`` on the shared counter ``key`` (a room's or a
        source's, see ``shared_rate_key``); 0 when allowed, else how long to wait (ms)."""

    def make_moderator(self, connection_id: ConnectionId) -> bool:
        """Mark a stored connection a moderator (and lift its mute); False if not stored."""

    def target(self, connection_id: ConnectionId, muted_until_s: int | None) -> Connection | None:
        """Set a member's ``mutedUntil`` (0: lift; ``None``: leave it) unless it is a
        moderator (``TargetIsModerator``); the connection as it was, ``None`` if not stored."""

    def sanction(self, keys: list[str], until_s: int, record: dict[str, str]) -> None:
        """Store the mute or ban items ``keys`` (the first lists the others), expiring at
        ``until_s``, each holding ``record`` (who did it, to whom)."""

    def lift(self, key: str, also: list[str]) -> None:
        """Delete the mute or ban item ``key``, the items it lists, and ``also``."""


STRAYS_RATE_ATTRIBUTE: Final = "tatStrays"
"""The GCRA time of a connection's frames to ``$default`` (none of them valid)."""

# Moderation (``chat.sanctions`` owns their writes).
MODERATOR_ATTRIBUTE: Final = "moderator"
"""Whether the connection may moderate its room (BOOL, only when true)."""
MUTED_UNTIL_ATTRIBUTE: Final = "mutedUntil"
"""Until when the connection may not speak (N, epoch s; absent or past: it may)."""
SOURCE_ATTRIBUTE: Final = "source"
"""The digest of the connection's source address (S), which a ban in an open chat covers."""
