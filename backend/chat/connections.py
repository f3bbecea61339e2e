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
- Global secondary index ``room-index``: hash key ``room``, projection ``INCLUDE`` of
  ``expiresAt``, ``name`` and ``connectedAt`` (``ROOM_INDEX_ATTRIBUTES``). The fan-out and the
  member list are one paginated Query on it; never a Scan.
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

- Admission (``enter``): one ``TransactWriteItems`` puts the connection and adds one to each
  counter of live connections it counts against (the room's seats ``seats#{room}``; its source
  address's and signed-in user's ``live#{a|u}#{digest}`` in total and ``...#{room}`` in the
  room), each under ``live < cap``, and to its name's claim ``name#{room}#{name key}``
  (``holders``), written only where nobody holds the name or ``owner`` is the connection's own
  (AWS's "unique constraints" pattern). Nothing reads the room, so the caps and the claim are
  exact under concurrency and ``$connect`` costs the same in any room. The connection item
  records what it holds (``counters``, ``claim``); whatever deletes it (``remove``, ``prune``)
  and got the old item back releases them once. Counters and claims carry ``expiresAt``,
  pushed forward by every entry: one left behind by a lost ``$disconnect`` counts until its
  item expires, and an expired one is reset, never added to (every condition treats expired
  as absent).

Every DynamoDB call is a direct method call on the injected low-level client (``self._client``);
a Terraform test derives the function's IAM actions from the method names in this file.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, NewType, Protocol

from botocore.exceptions import ClientError as BotoClientError

from .errors import StoreError
from .items import number_attribute, string_attribute
from .ratelimit import Budget, decide

ConnectionId = NewType("ConnectionId", str)
log = logging.getLogger("chat.connections")

# The table's names (docs/internals.md, "The connections table"): the local stack's schema
# (local_stack.dynamodb.TABLE_SCHEMA) and the tests are built from these.
CONNECTION_ID_ATTRIBUTE: Final = "connectionId"
"""The table's hash key (S)."""
ROOM_ATTRIBUTE: Final = "room"
"""The room (S); the hash key of ``ROOM_INDEX``."""
NAME_ATTRIBUTE: Final = "name"
CONNECTED_AT_ATTRIBUTE: Final = "connectedAt"
TTL_ATTRIBUTE: Final = "expiresAt"
"""Expiry in epoch seconds (N): the table's TTL attribute, projected into ``ROOM_INDEX``."""
ROOM_INDEX: Final = "room-index"
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


@dataclass(frozen=True, slots=True)
class Connection:
    """One open WebSocket, as stored."""

    connection_id: ConnectionId
    room: str
    name: str
    connected_at_ms: int
    expires_at_s: int
    owner: str = ""


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

    ROOM_FULL = "room_full"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    NAME_TAKEN = "name_taken"
    BUSY = "busy"
    """Other entries kept conflicting with this one (DynamoDB's ``TransactionConflict``)."""


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
    ) -> Refusal | None:
        """Store a new connection if its room, its ``source`` address and its signed-in
        ``user`` (digests; empty: none) are under ``caps`` and its name (compared by
        ``name_key``) is free in the room or held by its own ``owner``; else say why not.
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

    def count_connect(self, source: str, window_s: int, expires_at_s: int) -> int:
        """Count one connection attempt from ``source`` in the window starting at ``window_s``;
        return the window's count so far."""

    def admit_shared(self, key: str, budget: Budget, now_ms: int) -> int:
        """Spend one action of ``budget`` on the shared counter ``key`` (a room's or a
        source's, see ``shared_rate_key``); 0 when allowed, else how long to wait (ms)."""


class DynamoConnectionStore:
    """``ConnectionStore`` on a DynamoDB table through a boto3 low-level client."""

    def __init__(self, client: Any, table_name: str, *, page_size: int | None = None) -> None:
        """``page_size`` sets the Query's ``Limit`` (default: DynamoDB's 1 MB pages)."""
        self._client = client
        self._table = table_name
        self._page_size = page_size
        self._ahead: dict[str, int] = {}  # admit_shared's last known TAT per key (a hint)

    def put(self, connection: Connection) -> None:
        """Store ``connection`` (``PutItem``), holding nothing: no counter, no claim (a
        connection that enters the room is stored by ``enter``)."""
        self._client.put_item(TableName=self._table, Item=_connection_item(connection))

    def enter(
        self,
        connection: Connection,
        *,
        name_key: str,
        source: str,
        user: str,
        caps: Caps,
        now_s: int,
    ) -> Refusal | None:
        """One ``TransactWriteItems`` (module docstring); again, only when DynamoDB reports an
        expired counter or claim (then reset, not added to) or a conflicting transaction."""
        room = connection.room
        counters: dict[str, tuple[int, Refusal]] = {f"seats#{room}": (caps.room, Refusal.ROOM_FULL)}
        for kind, digest in (("a", source), ("u", user)):
            if digest:
                counters[f"live#{kind}#{digest}#{room}"] = (
                    caps.per_room,
                    Refusal.TOO_MANY_CONNECTIONS,
                )
                counters[f"live#{kind}#{digest}"] = (caps.total, Refusal.TOO_MANY_CONNECTIONS)
        claim = f"name#{room}#{name_key}"
        item = _connection_item(connection)
        item[COUNTERS_ATTRIBUTE] = {"SS": sorted(counters)}
        item[CLAIM_ATTRIBUTE] = {"S": claim}
        expires = connection.expires_at_s
        expired: set[str] = set()
        for attempt in range(_ENTER_ATTEMPTS):
            keys = [*counters, claim]
            writes = [{"Put": {"TableName": self._table, "Item": item}}]
            writes += [
                self._count_write(key, cap, now_s, expires, reset=key in expired)
                for key, (cap, _) in counters.items()
            ]
            writes.append(
                self._claim_write(claim, connection.owner, now_s, expires, reset=claim in expired)
            )
            try:
                self._client.transact_write_items(TransactItems=writes)
            except BotoClientError as error:
                reasons = _cancellation_reasons(error, writes)
            else:
                return None
            refusals = [
                counters[key][1] if key in counters else Refusal.NAME_TAKEN
                for key in _full(keys, reasons[1:], expired, now_s)
            ]
            if refusals:
                return min(refusals, key=list(Refusal).index)
            if any(r.get("Code") == _CONFLICT for r in reasons):
                time.sleep(random.uniform(0, _CONFLICT_BACKOFF_S * 2**attempt))  # noqa: S311
        return Refusal.BUSY

    def _count_write(
        self, key: str, cap: int, now_s: int, expires_s: int, *, reset: bool
    ) -> dict[str, Any]:
        """Add one to a counter below ``cap``; or, ``reset``, set an expired one to one."""
        values = {":one": {"N": "1"}, ":now": {"N": str(now_s)}, ":expires": {"N": str(expires_s)}}
        if reset:
            update = "SET #live = :one, #expires = :expires"
            condition = "#expires <= :now"
        else:
            update = "ADD #live :one SET #expires = :expires"
            condition = "attribute_not_exists(#live) OR (#live < :cap AND #expires > :now)"
            values[":cap"] = {"N": str(cap)}
        return {
            "Update": {
                "TableName": self._table,
                "Key": {CONNECTION_ID_ATTRIBUTE: {"S": key}},
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#live": LIVE_ATTRIBUTE, "#expires": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _claim_write(
        self, key: str, owner: str, now_s: int, expires_s: int, *, reset: bool
    ) -> dict[str, Any]:
        """Hold a name: free (no holders), or held by ``owner`` already (an empty owner, no
        key presented, shares with nobody); or, ``reset``, take an expired claim over."""
        values = {
            ":one": {"N": "1"},
            ":me": {"S": owner},
            ":now": {"N": str(now_s)},
            ":expires": {"N": str(expires_s)},
        }
        if reset:
            update = "SET #owner = :me, #holders = :one, #expires = :expires"
            condition = "#expires <= :now"
        else:
            update = "SET #owner = :me, #expires = :expires ADD #holders :one"
            condition = "attribute_not_exists(#holders) OR #holders <= :zero"
            values[":zero"] = {"N": "0"}
            if owner:
                condition += " OR (#owner = :me AND #expires > :now)"
        return {
            "Update": {
                "TableName": self._table,
                "Key": {CONNECTION_ID_ATTRIBUTE: {"S": key}},
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {
                    "#owner": OWNER_ATTRIBUTE,
                    "#holders": HOLDERS_ATTRIBUTE,
                    "#expires": TTL_ATTRIBUTE,
                },
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _release_or_warn(self, item: dict[str, Any]) -> None:
        """Release what a deleted connection held; if that fails, say so and carry on: the
        connection is gone either way (its ``left`` notice still due), and what it held frees
        itself when it expires."""
        try:
            self._release(item)
        except (BotoClientError, StoreError) as error:
            code = (
                str(error.response.get("Error", {}).get("Code", "ClientError"))
                if isinstance(error, BotoClientError)
                else str(error)  # our own words and DynamoDB's codes, nothing stored
            )
            log.warning(
                "a gone connection's counts and name claim were not released; they expire",
                extra={
                    "fields": {
                        "connectionId": _optional_string(item, CONNECTION_ID_ATTRIBUTE),
                        "error": code,
                    }
                },
            )

    def _release(self, item: dict[str, Any]) -> None:
        """Take one off each counter the deleted connection ``item`` added to and off its name
        claim (only while its owner holds it): one ``TransactWriteItems``, again without the
        writes whose condition failed (a counter already reset)."""
        owner = _optional_string(item, OWNER_ATTRIBUTE)
        writes = [
            _release_write(self._table, key, LIVE_ATTRIBUTE, None)
            for key in item.get(COUNTERS_ATTRIBUTE, {}).get("SS", [])
        ]
        claim = _optional_string(item, CLAIM_ATTRIBUTE)
        if claim:
            writes.append(_release_write(self._table, claim, HOLDERS_ATTRIBUTE, owner))
        for attempt in range(_ENTER_ATTEMPTS):
            if not writes:
                return
            try:
                self._client.transact_write_items(TransactItems=writes)
            except BotoClientError as error:
                reasons = _cancellation_reasons(error, writes)
            else:
                return
            codes = [r.get("Code", _NO_REASON) for r in reasons]
            if unexpected := set(codes) - {_NO_REASON, _CONFLICT, _CONDITION_FAILED}:
                raise StoreError(f"connections: releasing failed: {', '.join(sorted(unexpected))}")
            writes = [w for w, code in zip(writes, codes, strict=True) if code != _CONDITION_FAILED]
            if _CONFLICT in codes:
                time.sleep(random.uniform(0, _CONFLICT_BACKOFF_S * 2**attempt))  # noqa: S311
        raise StoreError("connections: releasing kept conflicting with other writes")

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
            self._release_or_warn(response["Attributes"])
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
        self._release_or_warn(item)
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
        """Query ``ROOM_INDEX`` page by page (``LastEvaluatedKey``), skipping expired items."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ROOM_INDEX,
            "KeyConditionExpression": "#room = :room",
            # TTL deletes late: an expired item may still be there for days.
            "FilterExpression": "#expires > :now",
            "ProjectionExpression": f"{CONNECTION_ID_ATTRIBUTE}, #name, #since, #expires, #owner",
            "ExpressionAttributeNames": {
                "#room": ROOM_ATTRIBUTE,
                "#expires": TTL_ATTRIBUTE,
                "#name": NAME_ATTRIBUTE,
                "#since": CONNECTED_AT_ATTRIBUTE,
                "#owner": OWNER_ATTRIBUTE,
            },
            "ExpressionAttributeValues": {":room": {"S": room}, ":now": {"N": str(now_s)}},
        }
        if self._page_size is not None:
            request["Limit"] = self._page_size
        while True:
            page = self._client.query(**request)
            for item in page.get("Items", []):
                if _number(item, TTL_ATTRIBUTE) > now_s:  # belt and braces over the filter
                    yield RoomMember(
                        ConnectionId(_string(item, CONNECTION_ID_ATTRIBUTE)),
                        _string(item, NAME_ATTRIBUTE),
                        _number(item, CONNECTED_AT_ATTRIBUTE),
                        _optional_string(item, OWNER_ATTRIBUTE),
                    )
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return
            request["ExclusiveStartKey"] = last_key

    def admit_shared(self, key: str, budget: Budget, now_ms: int) -> int:
        """GCRA on the item ``key`` (``shared_rate_key``), created on first use, with no read
        before the write, so concurrent containers never contend. Two conditional writes
        exist: a ``SET`` of the TAT when it is absent or past (an idle budget), and an ``ADD``
        of one interval when it is ahead of now and stays within the burst
        (``TAT <= now + tolerance``). Whichever the container last saw fit this key is tried
        first (one round trip, warm), the other only if it misses; a miss returns the stored
        TAT, which says whether the budget is spent and for how long. TAT only grows while it
        is ahead of now, so the two conditions cannot both miss an allowed action.

        The item expires (``expiresAt``) at least a minute after its TAT: by then the TAT is in
        the past, which GCRA treats as no TAT at all, so an expired item TTL has not deleted
        yet reads as absent without a check of its own. It has no ``room``: the room index
        never holds it.
        """
        limit = now_ms + budget.tolerance_ms
        add = self._ahead.get(key, 0) > now_ms
        for _ in range(2 * _CONTENDED_ATTEMPTS):
            if add:
                furthest = limit + budget.interval_ms  # the TAT this action may leave at most
                written, tat = self._spend_shared(
                    key,
                    "ADD #tat :interval SET #expires = :expires",
                    "#tat > :now AND #tat <= :limit",
                    {
                        ":interval": budget.interval_ms,
                        ":expires": furthest // 1000 + SHARED_RATE_GRACE_S,
                        ":now": now_ms,
                        ":limit": limit,
                    },
                )
            else:
                start = now_ms + budget.interval_ms
                written, tat = self._spend_shared(
                    key,
                    "SET #tat = :tat, #expires = :expires",
                    "attribute_not_exists(#tat) OR #tat <= :now",
                    {
                        ":tat": start,
                        ":expires": start // 1000 + SHARED_RATE_GRACE_S,
                        ":now": now_ms,
                    },
                )
            self._remember(key, tat)
            if written:
                return 0
            if tat is not None and tat > limit:  # spent: until TAT is back within the burst
                return tat - limit
            add = tat is not None and tat > now_ms  # the other write fits what was found
        # The TAT kept crossing now between our writes (an item expiring meanwhile): busy.
        return budget.interval_ms

    def _spend_shared(
        self, key: str, update: str, condition: str, values: dict[str, int]
    ) -> tuple[bool, int | None]:
        """One conditional ``UpdateItem`` of ``key``'s TAT: (whether it wrote, the TAT it left
        when it did, or the TAT it found when it did not; ``None``: none)."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={CONNECTION_ID_ATTRIBUTE: {"S": key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#tat": SHARED_RATE_ATTRIBUTE, "#expires": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    name: {"N": str(value)} for name, value in values.items()
                },
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except BotoClientError as error:
            answer: dict[str, Any] = getattr(error, "response", None) or {}
            if answer.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = answer.get("Item") or {}
            found = _number(item, SHARED_RATE_ATTRIBUTE) if SHARED_RATE_ATTRIBUTE in item else None
            return False, found
        return True, _number(response["Attributes"], SHARED_RATE_ATTRIBUTE)

    def _remember(self, key: str, tat: int | None) -> None:
        """Keep ``key``'s last known TAT for the next ``admit_shared`` to choose its write."""
        if len(self._ahead) >= _AHEAD_KEYS:
            self._ahead.clear()  # a hint only: a container meeting many keys starts over
        if tat is None:
            self._ahead.pop(key, None)
        else:
            self._ahead[key] = tat


_CONTENDED_ATTEMPTS: Final = 3
_AHEAD_KEYS: Final = 4096
# Entering tries again only after an expired counter or claim, or a conflicting transaction.
_ENTER_ATTEMPTS: Final = 4
_CONFLICT_BACKOFF_S: Final = 0.02
# CancellationReasons' codes ("TransactWriteItems", Errors).
_NO_REASON: Final = "None"
_CONDITION_FAILED: Final = "ConditionalCheckFailed"
_CONFLICT: Final = "TransactionConflict"


def _cancellation_reasons(
    error: BotoClientError, writes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A cancelled transaction's reasons, one per write in order; re-raise any other error."""
    response: dict[str, Any] = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise error
    reasons: list[dict[str, Any]] = response.get("CancellationReasons") or []
    if len(reasons) != len(writes):
        raise StoreError(f"connections: a cancelled transaction gave {len(reasons)} reasons")
    return reasons


def _full(
    keys: list[str], reasons: list[dict[str, Any]], expired: set[str], now_s: int
) -> list[str]:
    """The keys of the counters and claims whose condition failed because they are full (or
    held): the reason. One that failed because it expired goes into ``expired``, to be reset
    next time; one whose reset failed (another entry reset it, or it is gone) leaves it."""
    full = []
    for key, reason in zip(keys, reasons, strict=True):
        code = reason.get("Code", _NO_REASON)
        if code in (_NO_REASON, _CONFLICT):
            continue
        if code != _CONDITION_FAILED:
            raise StoreError(f"connections: entering failed on {key.split('#')[0]}: {code}")
        old = reason.get("Item")
        if key in expired or not old:
            expired.discard(key)
        elif _number(old, TTL_ATTRIBUTE) <= now_s:
            expired.add(key)
        else:
            full.append(key)
    return full


def _release_write(table: str, key: str, count: str, owner: str | None) -> dict[str, Any]:
    """Take one off ``count`` on item ``key`` while it is positive (and ``owner`` holds it)."""
    names = {"#count": count}
    values: dict[str, Any] = {":minus": {"N": "-1"}, ":zero": {"N": "0"}}
    condition = "#count > :zero"
    if owner is not None:
        condition += " AND #owner = :me"
        names["#owner"] = OWNER_ATTRIBUTE
        values[":me"] = {"S": owner}
    return {
        "Update": {
            "TableName": table,
            "Key": {CONNECTION_ID_ATTRIBUTE: {"S": key}},
            "UpdateExpression": "ADD #count :minus",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _connection_item(connection: Connection) -> dict[str, Any]:
    return {
        CONNECTION_ID_ATTRIBUTE: {"S": connection.connection_id},
        ROOM_ATTRIBUTE: {"S": connection.room},
        NAME_ATTRIBUTE: {"S": connection.name},
        CONNECTED_AT_ATTRIBUTE: {"N": str(connection.connected_at_ms)},
        TTL_ATTRIBUTE: {"N": str(connection.expires_at_s)},
        OWNER_ATTRIBUTE: {"S": connection.owner},
    }


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
        owner=_optional_string(item, OWNER_ATTRIBUTE),
    )


def _optional_string(item: dict[str, Any], name: str) -> str:
    # Items written before the attribute existed have none: the empty string, as if unproven.
    value = item.get(name, {}).get("S", "")
    return value if isinstance(value, str) else ""


# --- Shared rate limits (a room's messages, a source's frames) ---------------------------------

SHARED_RATE_ATTRIBUTE: Final = "tat"
"""A shared counter's GCRA time (N, epoch ms), on items keyed ``rate#...``."""
SHARED_RATE_GRACE_S: Final = 60
"""How long a shared counter's item outlives its TAT before it expires."""
ROOM_MESSAGES: Final = "room"
"""``shared_rate_key``'s kind for a room's messages."""
SOURCE_FRAMES: Final = "source"
"""``shared_rate_key``'s kind for the frames of every connection from one source address."""
CONNECTION_REFUSALS: Final = "refusals"
"""``shared_rate_key``'s kind for one connection's refused frames (on an item of their own:
a flood's refusals arrive concurrently, and the shared counters never contend)."""


def shared_rate_key(kind: str, name: str) -> str:
    """The item key of a shared counter: ``rate#{kind}#{name}``. Connection ids never hold a
    ``#``; a source's ``name`` is a digest of its address, never the address."""
    return f"rate#{kind}#{name}"


STRAYS_RATE_ATTRIBUTE: Final = "tatStrays"
"""The GCRA time of a connection's frames to ``$default`` (none of them valid)."""
