"""The connections table: the only module that talks to DynamoDB.

Key design (docs/internals.md, "The connections table"):

- Table key: ``connectionId`` (S), hash key only. API Gateway never reuses a connection id, so
  writes are unconditional: ``put_item`` on ``$connect`` and ``delete_item`` on ``$disconnect``
  are both idempotent, which is what a best-effort ``$disconnect`` needs. The delete on a 410
  is conditioned on ``connectedAt``: API Gateway answers 410 for a connection whose ``$connect``
  has returned but whose handshake has not finished, so a young connection is kept.
- Item: ``connectionId`` S, ``room`` S, ``name`` S, ``connectedAt`` N (epoch ms), ``expiresAt``
  N (epoch s). ``expiresAt`` is the table's TTL attribute; TTL deletes late (typically within
  days, "Working with time to live (TTL)"), so every read skips expired items itself.
- Global secondary index ``room-index``: hash key ``roomShard`` (``{room}#{k}``, k from a hash
  of the connection id, ``ROOM_SHARDS`` shards: a room of 100,000 spreads over partitions),
  projection ``INCLUDE`` of ``expiresAt``, ``name`` and ``connectedAt``
  (``ROOM_INDEX_ATTRIBUTES``). The fan-out and the member list are the shards' paginated Queries,
  run in parallel (``members``); never a Scan.
- Every client action is admitted by one conditional ``UpdateItem`` of the connection's rate
  limit attribute (``tat...``, a GCRA theoretical arrival time in epoch ms) that returns the
  whole item: the rate limit costs no extra round trip, since the sender's item is read anyway
  (it replaces a ``GetItem``). A second update runs only during a burst, conditioned on the
  value read, so concurrent containers cannot both spend the same allowance.
- ``$disconnect`` deletes with ``ReturnValues=ALL_OLD``: one call forgets the connection and
  says who left (for the ``left`` notice).
- The sender's own item is read with a strongly consistent ``get_item``: a client may speak
  right after ``$connect`` returned. The index is eventually consistent (GSIs always are), so a
  connection may miss messages sent in the first instants after it connected.

- Admission (``enter``): one ``TransactWriteItems`` stores the connection, takes a seat,
  counts it against its source and user, and claims its name; ``remove`` and ``prune`` release
  what it held. The transaction and its release are ``chat.seats``'.
- Shared budgets (``admit_shared``: a room's messages, a source's frames, a connection's
  refusals) are items of their own, spent by ``chat.shared_rates``.

Both are loaded on first use (``$connect`` needs no shared budget, a ``ping`` no seat). Every
DynamoDB call is a direct method call on the injected low-level client (``self._client``);
``tests/backend/test_permissions.py`` derives the function's IAM actions from the calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, NewType, Protocol

from botocore.exceptions import ClientError as BotoClientError

from .items import number_attribute, optional_string_attribute, string_attribute
from .ratelimit import Budget, decide

if TYPE_CHECKING:
    from .shared_rates import SharedRates

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
(see ``room_shard``)."""
ROOM_SHARDS: Final = 8
"""How many index partitions a room spreads over. One GSI partition takes about 1,000 writes and
3,000 reads a second: 8 shards let 8,000 members join a second and list 100,000 members in
12,500-item slices, while a small room's read costs 8 Queries (8 x 0.5 read units, run in
parallel) instead of one. Changing it re-keys every live connection: set it before a deploy."""
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


class DynamoConnectionStore:
    """``ConnectionStore`` on a DynamoDB table through a boto3 low-level client."""

    def __init__(self, client: Any, table_name: str, *, page_size: int | None = None) -> None:
        """``page_size`` sets the Query's ``Limit`` (default: DynamoDB's 1 MB pages)."""
        self._client = client
        self._table = table_name
        self._page_size = page_size
        self._shared: SharedRates | None = None  # on first use

    def put(self, connection: Connection) -> None:
        """Store ``connection`` (``PutItem``), holding nothing: no counter, no claim (a
        connection that enters the room is stored by ``enter``)."""
        self._client.put_item(TableName=self._table, Item=connection_item(connection))

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
        """``chat.seats.enter``: one ``TransactWriteItems`` (``TransactionConflict``: again)."""
        from .seats import enter  # noqa: PLC0415 (on first use: only $connect enters)

        return enter(
            self._client,
            self._table,
            connection,
            name_key=name_key,
            source=source,
            user=user,
            caps=caps,
            now_s=now_s,
            sanctions=sanctions,
        )

    def count_connect(self, source: str, window_s: int, expires_at_s: int) -> int:
        """``ADD`` one to the counter item ``connect#{source}#{window_s}`` (one ``UpdateItem``).

        The item has no ``room``, so the room index (sparse) never holds it; it expires with
        the table's TTL like every other item.
        """
        response = self._client.update_item(
            TableName=self._table,
            Key={CONNECTION_ID_ATTRIBUTE: {"S": f"connect#{source}#{window_s}"}},
            UpdateExpression="ADD #count :one SET #expires = :expires",
            ExpressionAttributeNames={"#count": CONNECT_COUNT_ATTRIBUTE, "#expires": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":one": {"N": "1"}, ":expires": {"N": str(expires_at_s)}},
            ReturnValues="UPDATED_NEW",
        )
        return _number(response["Attributes"], CONNECT_COUNT_ATTRIBUTE)

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        """A ``DeleteItem`` conditioned on ``connectedAt`` (deleting a missing item succeeds),
        returning the old item: released only by the call that deleted it."""
        try:
            response = self._client.delete_item(
                TableName=self._table,
                Key={CONNECTION_ID_ATTRIBUTE: {"S": connection_id}},
                ConditionExpression="attribute_not_exists(#since) OR #since < :before",
                ExpressionAttributeNames={"#since": CONNECTED_AT_ATTRIBUTE},
                ExpressionAttributeValues={":before": {"N": str(connected_before_ms)}},
                ReturnValues="ALL_OLD",
            )
        except BotoClientError as error:
            answer: dict[str, Any] = getattr(error, "response", None) or {}
            if answer.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False
        if response.get("Attributes"):
            _release(self._client, self._table, response["Attributes"])
        return True

    def remove(self, connection_id: ConnectionId) -> Connection | None:
        """``DeleteItem`` returning the old item: who left, in the same call, and what it held
        (released by this call only: a repeated ``$disconnect`` finds nothing)."""
        response = self._client.delete_item(
            TableName=self._table,
            Key={CONNECTION_ID_ATTRIBUTE: {"S": connection_id}},
            ReturnValues="ALL_OLD",
        )
        item = response.get("Attributes")
        if not item:
            return None
        _release(self._client, self._table, item)
        return _connection_from_item(item)

    def admit(self, connection_id: ConnectionId, budget: Budget, now_ms: int) -> Admission:
        """One conditional ``UpdateItem`` when the connection is within its rate (two in a
        burst, a few more only under contention); see the module docstring."""
        spent = self._spend(connection_id, budget, None, now_ms + budget.interval_ms, now_ms)
        for _ in range(_CONTENDED_ATTEMPTS):
            if spent.updated or spent.value is None:
                return Admission(spent.connection)
            tat = _number(spent.value, budget.attribute)
            verdict = decide(tat, now_ms, budget)
            if not verdict.allowed:
                return Admission(spent.connection, verdict.retry_after_ms)
            spent = self._spend(connection_id, budget, tat, verdict.next_tat_ms, now_ms)
        if spent.updated or spent.value is None:
            return Admission(spent.connection)
        # Others kept spending this budget between our reads and writes: it is busy anyway.
        return Admission(spent.connection, budget.interval_ms)

    def _spend(
        self, connection_id: ConnectionId, budget: Budget, seen: int | None, tat: int, now_ms: int
    ) -> _Spent:
        """Set the budget's TAT to ``tat`` if it still is ``seen`` (``None``: unset or past)."""
        values = {":tat": {"N": str(tat)}}
        if seen is None:
            condition = "attribute_exists(#id) AND (attribute_not_exists(#tat) OR #tat <= :now)"
            values[":now"] = {"N": str(now_ms)}
        else:
            condition = "attribute_exists(#id) AND #tat = :seen"
            values[":seen"] = {"N": str(seen)}
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={CONNECTION_ID_ATTRIBUTE: {"S": connection_id}},
                UpdateExpression="SET #tat = :tat",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#id": CONNECTION_ID_ATTRIBUTE, "#tat": budget.attribute},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except BotoClientError as error:
            answer: dict[str, Any] = getattr(error, "response", None) or {}
            if answer.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return _Spent(updated=False, value=answer.get("Item") or None)
        return _Spent(updated=True, value=response["Attributes"])

    def members(self, room: str, now_s: int) -> Iterator[RoomMember]:
        """Query every shard of ``room`` on ``ROOM_INDEX`` in parallel, page by page
        (``LastEvaluatedKey``), yielding pages as they arrive; a shard's next page is asked for
        once its page has been consumed, so a reader that stops early (``tell_room`` checking
        the delivery threshold) reads no page it does not use. Expired items are skipped."""
        return self.shard_members(room_shards(room), now_s)

    def shard_members(self, shards: list[str], now_s: int) -> Iterator[RoomMember]:
        """``members`` of the given shard keys only (a delivery worker reads one shard)."""
        requests = {shard: self._member_query(shard, now_s) for shard in shards}
        pool = _query_pool()
        pending = {pool.submit(self._query, requests[s]): s for s in shards}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    shard = pending.pop(future)
                    page = future.result()
                    yield from _page_members(page, now_s)
                    last_key = page.get("LastEvaluatedKey")
                    if last_key:
                        # Later pages are DynamoDB's full 1 MB ones (or page_size).
                        request = {**requests[shard], "ExclusiveStartKey": last_key}
                        if self._page_size is None:
                            request.pop("Limit", None)
                        requests[shard] = request
                        pending[pool.submit(self._query, request)] = shard
        finally:
            for future in pending:
                future.cancel()

    def _query(self, request: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = self._client.query(**request)
        return page

    def _member_query(self, shard: str, now_s: int) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ROOM_INDEX,
            "KeyConditionExpression": "#shard = :shard",
            # TTL deletes late: an expired item may still be there for days.
            "FilterExpression": "#expires > :now",
            "ProjectionExpression": f"{CONNECTION_ID_ATTRIBUTE}, #name, #since, #expires, #owner",
            "ExpressionAttributeNames": {
                "#shard": ROOM_SHARD_ATTRIBUTE,
                "#expires": TTL_ATTRIBUTE,
                "#name": NAME_ATTRIBUTE,
                "#since": CONNECTED_AT_ATTRIBUTE,
                "#owner": OWNER_ATTRIBUTE,
            },
            "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": {"N": str(now_s)}},
        }
        # A small first page: a room's size is known from it without reading 1 MB per shard.
        request["Limit"] = FIRST_PAGE_ITEMS if self._page_size is None else self._page_size
        return request

    def admit_shared(self, key: str, budget: Budget, now_ms: int) -> int:
        """``chat.shared_rates.SharedRates.admit``: one conditional ``UpdateItem`` when warm."""
        if self._shared is None:
            from .shared_rates import SharedRates  # noqa: PLC0415 (not needed by $connect)

            self._shared = SharedRates(self._client, self._table)
        return self._shared.admit(key, budget, now_ms)

    # Moderation: ``chat.sanctions``, loaded on first use.
    def make_moderator(self, connection_id: ConnectionId) -> bool:
        """``chat.sanctions.make_moderator``: one conditional ``UpdateItem``."""
        from . import sanctions  # noqa: PLC0415

        return sanctions.make_moderator(self._client, self._table, connection_id)

    def target(self, connection_id: ConnectionId, muted_until_s: int | None) -> Connection | None:
        """``chat.sanctions.target``: one conditional ``UpdateItem``."""
        from . import sanctions  # noqa: PLC0415

        old = sanctions.target(self._client, self._table, connection_id, muted_until_s)
        return None if old is None else _connection_from_item(old)

    def sanction(self, keys: list[str], until_s: int, record: dict[str, str]) -> None:
        """``chat.sanctions.sanction``: one ``TransactWriteItems`` of ``Put``s."""
        from . import sanctions  # noqa: PLC0415

        sanctions.sanction(self._client, self._table, keys, until_s, record)

    def lift(self, key: str, also: list[str]) -> None:
        """``chat.sanctions.lift``: one ``DeleteItem``, then one ``TransactWriteItems``."""
        from . import sanctions  # noqa: PLC0415

        sanctions.lift(self._client, self._table, key, also)


def _release(client: Any, table: str, item: dict[str, Any]) -> None:
    """Give back what the deleted connection ``item`` held (``chat.seats.release_or_warn``)."""
    from .seats import release_or_warn  # noqa: PLC0415 (on first use)

    release_or_warn(client, table, item)


_CONTENDED_ATTEMPTS: Final = 3


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


def _page_members(page: dict[str, Any], now_s: int) -> Iterator[RoomMember]:
    for item in page.get("Items", []):
        if _number(item, TTL_ATTRIBUTE) > now_s:  # belt and braces over the filter
            yield RoomMember(
                ConnectionId(_string(item, CONNECTION_ID_ATTRIBUTE)),
                _string(item, NAME_ATTRIBUTE),
                _number(item, CONNECTED_AT_ATTRIBUTE),
                optional_string_attribute(item, OWNER_ATTRIBUTE),
            )


FIRST_PAGE_ITEMS: Final = 256
"""The ``Limit`` of a shard's first page: 256 index items (about 25 KB, 4 read units) hold a
room of up to 2,048 members in the first pages of its 8 shards, so ``tell_room`` learns that a
room is above the delivery threshold (1,000) for about 30 read units, not 8 MB of pages."""

_POOL: list[ThreadPoolExecutor] = []


def _query_pool() -> ThreadPoolExecutor:
    """One pool per container for the shards' Queries (created on first read)."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=ROOM_SHARDS, thread_name_prefix="shards"))
    return _POOL[0]


def connection_item(connection: Connection) -> dict[str, Any]:
    """The item ``connection`` is stored as (what it holds is added by ``chat.seats``)."""
    return {
        CONNECTION_ID_ATTRIBUTE: {"S": connection.connection_id},
        ROOM_ATTRIBUTE: {"S": connection.room},
        ROOM_SHARD_ATTRIBUTE: {"S": room_shard(connection.room, connection.connection_id)},
        NAME_ATTRIBUTE: {"S": connection.name},
        CONNECTED_AT_ATTRIBUTE: {"N": str(connection.connected_at_ms)},
        TTL_ATTRIBUTE: {"N": str(connection.expires_at_s)},
        OWNER_ATTRIBUTE: {"S": connection.owner},
        **moderation_attributes(connection),
    }


def moderation_attributes(connection: Connection) -> dict[str, Any]:
    """What a connection's item holds for moderation, only when set."""
    item: dict[str, Any] = {}
    if connection.moderator:
        item[MODERATOR_ATTRIBUTE] = {"BOOL": True}
    if connection.muted_until_s:
        item[MUTED_UNTIL_ATTRIBUTE] = {"N": str(connection.muted_until_s)}
    if connection.source:
        item[SOURCE_ATTRIBUTE] = {"S": connection.source}
    return item


@dataclass(frozen=True, slots=True)
class _Spent:
    """What a conditional update saw: whether it wrote, and the item (new if it wrote, old if
    not; ``None`` when there is no item)."""

    updated: bool
    value: dict[str, Any] | None

    @property
    def connection(self) -> Connection | None:
        return None if self.value is None else _connection_from_item(self.value)


def _string(item: dict[str, Any], name: str) -> str:
    return string_attribute(item, name, "connections")


def _number(item: dict[str, Any], name: str) -> int:
    return number_attribute(item, name, "connections")


def _connection_from_item(item: dict[str, Any]) -> Connection:
    return Connection(
        connection_id=ConnectionId(_string(item, CONNECTION_ID_ATTRIBUTE)),
        room=_string(item, ROOM_ATTRIBUTE),
        name=_string(item, NAME_ATTRIBUTE),
        connected_at_ms=_number(item, CONNECTED_AT_ATTRIBUTE),
        expires_at_s=_number(item, TTL_ATTRIBUTE),
        owner=optional_string_attribute(item, OWNER_ATTRIBUTE),
        moderator=item.get(MODERATOR_ATTRIBUTE, {}).get("BOOL") is True,
        muted_until_s=_number(item, MUTED_UNTIL_ATTRIBUTE) if MUTED_UNTIL_ATTRIBUTE in item else 0,
        source=optional_string_attribute(item, SOURCE_ATTRIBUTE),
    )


STRAYS_RATE_ATTRIBUTE: Final = "tatStrays"
"""The GCRA time of a connection's frames to ``$default`` (none of them valid)."""

# Moderation (``chat.sanctions`` owns their writes).
MODERATOR_ATTRIBUTE: Final = "moderator"
"""Whether the connection may moderate its room (BOOL, only when true)."""
MUTED_UNTIL_ATTRIBUTE: Final = "mutedUntil"
"""Until when the connection may not speak (N, epoch s; absent or past: it may)."""
SOURCE_ATTRIBUTE: Final = "source"
"""The digest of the connection's source address (S), which a ban in an open chat covers."""
