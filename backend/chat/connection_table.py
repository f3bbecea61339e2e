"""The connections table on DynamoDB (``DynamoConnectionStore``): the only module that talks
to its items besides ``chat.seats``, ``chat.sanctions`` and ``chat.shared_rates``.

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
- A bounded read of a room (``list_members``) spends one budget of index entries over the
  shards' Queries; a big room's count and a name's holders are ``chat.seats``' batch reads.
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

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError as BotoClientError

from .connection_items import connection_from_item, connection_item, number_value, page_members
from .connections import (
    CONNECT_COUNT_ATTRIBUTE,
    CONNECTED_AT_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    NAME_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    ROOM_INDEX,
    ROOM_SHARD_ATTRIBUTE,
    TTL_ATTRIBUTE,
    Admission,
    Caps,
    Connection,
    ConnectionId,
    MemberList,
    Refusal,
    RoomMember,
    Sanctions,
)
from .ratelimit import Budget, decide
from .room_shards import query_pool, room_shards

if TYPE_CHECKING:
    from .shared_rates import SharedRates


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
        return number_value(response["Attributes"], CONNECT_COUNT_ATTRIBUTE)

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
        return connection_from_item(item)

    def admit(self, connection_id: ConnectionId, budget: Budget, now_ms: int) -> Admission:
        """One conditional ``UpdateItem`` when the connection is within its rate (two in a
        burst, a few more only under contention); see the module docstring."""
        spent = self._spend(connection_id, budget, None, now_ms + budget.interval_ms, now_ms)
        for _ in range(_CONTENDED_ATTEMPTS):
            if spent.updated or spent.value is None:
                return Admission(spent.connection)
            tat = number_value(spent.value, budget.attribute)
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
        once its page has been consumed. A reader that stops early still pays for the pages
        already asked for (and waits for them when it closes the iterator): a read that must
        stop at a bound is ``list_members``. Expired items are skipped."""
        return self.shard_members(room_shards(room), now_s)

    def shard_members(self, shards: list[str], now_s: int) -> Iterator[RoomMember]:
        """``members`` of the given shard keys only (a delivery worker reads one shard)."""
        requests = {shard: self._member_query(shard, now_s) for shard in shards}
        pool = query_pool()
        pending = {pool.submit(self._query, requests[s]): s for s in shards}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    shard = pending.pop(future)
                    page = future.result()
                    yield from page_members(page, now_s)
                    last_key = page.get("LastEvaluatedKey")
                    if last_key:
                        # Later pages are DynamoDB's full 1 MB ones (or page_size).
                        request = {**requests[shard], "ExclusiveStartKey": last_key}
                        if self._page_size is None:
                            request.pop("Limit", None)
                        requests[shard] = request
                        pending[pool.submit(self._query, request)] = shard
        finally:
            _settle(pending)

    def list_members(self, room: str, now_s: int, limit: int) -> MemberList:
        """The shards' Queries in parallel, as ``members``, under one budget of ``limit`` index
        entries read: each shard's first page asks for its even share (``Limit``); a shard with
        more is asked again only for what the budget has left once the entries asked for and
        not yet read are counted (a short page gives its rest back). So a room of 100,000 costs
        what a room of ``limit`` does: at most ``limit + ROOM_SHARDS - 1`` entries read
        (expired ones count: DynamoDB applies ``Limit`` before the filter; the budget is one
        more than ``limit``), while a room of at most ``limit`` entries is read to its end
        (``complete``)."""
        shards = room_shards(room)
        cap = self._page_size
        share = max(1, -(-limit // len(shards)))
        pool = query_pool()
        pending: dict[Future[dict[str, Any]], tuple[str, int]] = {}
        # Entries neither read nor asked for: one more than the limit, since DynamoDB may answer
        # a page that stopped at its Limit on a shard's last entry with a LastEvaluatedKey ("it
        # does not necessarily mean that there is more data", Query's API reference): the one
        # more tells a room of exactly ``limit`` (complete) from a bigger one.
        budget = limit + 1

        def ask(shard: str, start: dict[str, Any] | None, size: int) -> None:
            nonlocal budget
            request = {**self._member_query(shard, now_s), "Limit": size}
            if start is not None:
                request["ExclusiveStartKey"] = start
            pending[pool.submit(self._query, request)] = (shard, size)
            budget -= size

        for shard in shards:
            ask(shard, None, share if cap is None else min(share, cap))
        found: list[RoomMember] = []
        waiting: list[tuple[str, dict[str, Any]]] = []  # shards with entries not asked for
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    shard, asked = pending.pop(future)
                    page = future.result()
                    found.extend(page_members(page, now_s))
                    budget += asked - int(page.get("ScannedCount", len(page.get("Items", []))))
                    if page.get("LastEvaluatedKey"):
                        waiting.append((shard, page["LastEvaluatedKey"]))
                while waiting and budget > 0:
                    shard, start = waiting.pop(0)
                    ask(shard, start, budget if cap is None else min(budget, cap))
        finally:
            _settle(pending)
        return MemberList(tuple(found[:limit]), complete=not waiting and len(found) <= limit)

    def live_connections(self, room: str, now_s: int) -> int:
        """``chat.seats.live_connections``: one ``BatchGetItem`` of the room's seat shards."""
        from .seats import live_connections  # noqa: PLC0415 (on first use)

        return live_connections(self._client, self._table, room, now_s)

    def name_holders(self, room: str, name_key: str, now_s: int) -> list[ConnectionId]:
        """``chat.seats.name_holders``: one ``BatchGetItem`` of the name's claim."""
        from .seats import name_holders  # noqa: PLC0415 (on first use)

        return name_holders(self._client, self._table, room, name_key, now_s)

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
        # A small first page (FIRST_PAGE_ITEMS says why); list_members sizes its own pages.
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
        return None if old is None else connection_from_item(old)

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


def _settle(pending: Iterable[Future[dict[str, Any]]]) -> None:
    """Cancel the Queries not started yet and wait for the running ones: a read that stopped
    (an error, a reader that closed early) leaves no request running after it returns."""
    running = [future for future in pending if not future.cancel()]
    wait(running)


_CONTENDED_ATTEMPTS: Final = 3


FIRST_PAGE_ITEMS: Final = 256
"""The ``Limit`` of a shard's first page in ``members``: 256 index items (about 25 KB, 4 read
units) hold a room of up to 2,048 members in the first pages of its 8 shards, so a small room
is read in one round and a big one's first answer comes without 8 MB of pages. (``tell_room``
decides on the delivery threshold with ``list_members``, whose pages are sized by its budget.)"""


@dataclass(frozen=True, slots=True)
class _Spent:
    """What a conditional update saw: whether it wrote, and the item (new if it wrote, old if
    not; ``None`` when there is no item)."""

    updated: bool
    value: dict[str, Any] | None

    @property
    def connection(self) -> Connection | None:
        return None if self.value is None else connection_from_item(self.value)
