"""Seats and names: ``$connect``'s one transaction, and its release when a connection goes.

Key design (docs/internals.md, "The connections table"), on items of the connections table
that have no ``room`` (so the room index never holds them):

- ``enter``: one ``TransactWriteItems`` puts the connection and adds one to each counter of
  live connections it counts against (one of the room's seat shards ``seats#{room}#{j}``, see
  "Seat shards" below; its source address's
  and signed-in user's ``live#{a|u}#{digest}`` in total and ``...#{room}`` in the room), each
  under ``live < cap``, and to its name's claim ``name#{room}#{name key}`` (``holders``; its
  id joins ``holderIds``), written only where nobody holds the name or ``owner`` is the
  connection's own (AWS's "unique constraints" pattern). Nothing reads the room, so the caps
  and the claim are exact under concurrency and ``$connect`` costs the same in any room.
- The connection item records what it holds (``counters``, ``claim``); whatever deletes it
  (``DynamoConnectionStore.remove``, ``prune``) and got the old item back releases them once
  (``release_or_warn``).
- Counters and claims carry ``expiresAt``, pushed forward by every entry: one left behind by a
  lost ``$disconnect`` counts until its item expires, and an expired one is reset, never added
  to (every condition treats expired as absent).

- Seat shards: one seats item per room would take every join of a big room (one item takes
  about 500 transactional writes a second). A room's seats are split over
  ``seat_shards(cap)`` items (up to ``room_shards.ROOM_SHARDS``, at least
  ``MIN_SEATS_PER_SHARD`` seats each), whose caps (``shard_cap``) sum to the room's cap, so the
  cap stays exact. A connection tries the shard its id hashes to, and the next ones only when
  that shard is full: ``$connect`` makes the same one transaction in an empty room and in a
  nearly full one; only a refusal in a full room costs one transaction per shard.
- Readers (docs/internals.md, "Big rooms"): ``live_connections`` sums a room's seat shards and
  ``name_holders`` lists a name's connections, each by one ``BatchGetItem``, so a big room is
  counted, and a moderator's target found, without reading the room.

Every DynamoDB call is a direct call on the injected low-level client, as in ``connection_table``.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Final

from botocore.exceptions import ClientError as BotoClientError

from .connection_items import connection_item
from .connections import (
    CLAIM_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    COUNTERS_ATTRIBUTE,
    HOLDER_IDS_ATTRIBUTE,
    HOLDERS_ATTRIBUTE,
    LIVE_ATTRIBUTE,
    MUTED_UNTIL_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    TTL_ATTRIBUTE,
    Caps,
    Connection,
    ConnectionId,
    Refusal,
    Sanctions,
)
from .errors import StoreError
from .items import number_attribute, optional_string_attribute
from .room_shards import ROOM_SHARDS, shard_number
from .sanctions import admission_checks

log = logging.getLogger("chat.connections")

MIN_SEATS_PER_SHARD: Final = 64
"""A room gets another seat shard only for this many seats: a small room keeps one seats item
(a shard with few seats fills early and sends joiners probing)."""


def seat_key(room: str, shard: int) -> str:
    """The key of seat shard ``shard`` of ``room`` (a counter item, ``live``)."""
    return f"seats#{room}#{shard}"


def claim_key(room: str, name_key: str) -> str:
    """The key of the claim on the name ``name_key`` in ``room`` (``holders``, ``holderIds``)."""
    return f"name#{room}#{name_key}"


def seat_shards(room_cap: int) -> int:
    """How many seats items a room with ``room_cap`` seats has (module docstring)."""
    return max(1, min(ROOM_SHARDS, room_cap // MIN_SEATS_PER_SHARD))


def shard_cap(room_cap: int, shards: int, shard: int) -> int:
    """Seat shard ``shard``'s cap: an even split of ``room_cap``, the remainder to the first
    shards, so the caps sum to ``room_cap``."""
    return room_cap // shards + (1 if shard < room_cap % shards else 0)


def enter(
    client: Any,
    table: str,
    connection: Connection,
    *,
    name_key: str,
    source: str,
    user: str,
    caps: Caps,
    now_s: int,
    sanctions: Sanctions | None = None,
) -> Refusal | None:
    """Store ``connection`` in ``table`` if its room, source and user are under ``caps`` and
    its name is free, taking a seat in the seat shard its id hashes to, or in the next ones
    when that one is full (module docstring). ``None`` when stored, else why not."""
    shards = seat_shards(caps.room)
    first = shard_number(connection.connection_id, shards)
    refusal: Refusal | None = Refusal.ROOM_FULL
    for probe in range(shards):
        shard = (first + probe) % shards
        seats = (seat_key(connection.room, shard), shard_cap(caps.room, shards, shard))
        refusal = _enter_with_seat(
            client,
            table,
            connection,
            seats,
            name_key=name_key,
            source=source,
            user=user,
            caps=caps,
            now_s=now_s,
            sanctions=sanctions,
        )
        if refusal is not Refusal.ROOM_FULL:
            return refusal
    return refusal


def _enter_with_seat(
    client: Any,
    table: str,
    connection: Connection,
    seats: tuple[str, int],
    *,
    name_key: str,
    source: str,
    user: str,
    caps: Caps,
    now_s: int,
    sanctions: Sanctions | None,
) -> Refusal | None:
    """Store ``connection`` in ``table`` if its seat shard (``seats``: key, cap), source and
    user are under their caps and its name is free: one ``TransactWriteItems`` (module
    docstring); again, only when DynamoDB reports an expired counter or claim (then reset, not
    added to), an unexpired mute (then stamped on the item) or a conflicting transaction.
    ``None`` when stored, else why not (``BANNED`` when a ban of ``sanctions`` holds)."""
    room = connection.room
    counters: dict[str, tuple[int, Refusal]] = {seats[0]: (seats[1], Refusal.ROOM_FULL)}
    for kind, digest in (("a", source), ("u", user)):
        if digest:
            counters[f"live#{kind}#{digest}#{room}"] = (
                caps.per_room,
                Refusal.TOO_MANY_CONNECTIONS,
            )
            counters[f"live#{kind}#{digest}"] = (caps.total, Refusal.TOO_MANY_CONNECTIONS)
    claim = claim_key(room, name_key)
    item = connection_item(connection)
    item[COUNTERS_ATTRIBUTE] = {"SS": sorted(counters)}
    item[CLAIM_ATTRIBUTE] = {"S": claim}
    expires = connection.expires_at_s
    expired: set[str] = set()
    bans = list(sanctions.bans) if sanctions else []
    mutes = list(sanctions.mutes) if sanctions else []
    for attempt in range(_ENTER_ATTEMPTS):
        keys = [*counters, claim, *bans, *mutes]
        writes = [{"Put": {"TableName": table, "Item": item}}]
        writes += [
            _count_write(table, key, cap, now_s, expires, reset=key in expired)
            for key, (cap, _) in counters.items()
        ]
        writes.append(
            _claim_write(
                table,
                claim,
                (connection.owner, connection.connection_id),
                now_s,
                expires,
                reset=claim in expired,
            )
        )
        writes += admission_checks(table, [*bans, *mutes], now_s)
        try:
            client.transact_write_items(TransactItems=writes)
        except BotoClientError as error:
            reasons = _cancellation_reasons(error, writes)
        else:
            return None
        full = _full(keys, reasons[1:], expired, now_s)
        if muted := [key for key in full if key in mutes]:
            # Muted: enter muted until the latest of them ends (the checks' items say when).
            old = {
                key: reason.get("Item") or {} for key, reason in zip(keys, reasons[1:], strict=True)
            }
            until = max(number_attribute(old[key], TTL_ATTRIBUTE, "connections") for key in muted)
            item[MUTED_UNTIL_ATTRIBUTE] = {"N": str(until)}
            mutes = [key for key in mutes if key not in muted]
        refusals = [
            counters[key][1]
            if key in counters
            else Refusal.BANNED
            if key in bans
            else Refusal.NAME_TAKEN
            for key in full
            if key not in muted
        ]
        if refusals:
            return min(refusals, key=list(Refusal).index)
        if muted:
            continue
        if any(r.get("Code") == _CONFLICT for r in reasons):
            time.sleep(random.uniform(0, _CONFLICT_BACKOFF_S * 2**attempt))  # noqa: S311
    return Refusal.BUSY


def _count_write(
    table: str, key: str, cap: int, now_s: int, expires_s: int, *, reset: bool
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
    names = {"#live": LIVE_ATTRIBUTE, "#expires": TTL_ATTRIBUTE}
    return _update(table, key, update, condition, names=names, values=values, old_on_failure=True)


def _claim_write(
    table: str, key: str, holder: tuple[str, str], now_s: int, expires_s: int, *, reset: bool
) -> dict[str, Any]:
    """Hold a name for ``holder`` (owner, connection id), recording the connection among its
    holders: free (no holders), or held by that owner already (an empty owner, no key
    presented, shares with nobody); or, ``reset``, take an expired claim over."""
    owner, connection_id = holder
    values = {
        ":one": {"N": "1"},
        ":me": {"S": owner},
        ":id": {"SS": [connection_id]},
        ":now": {"N": str(now_s)},
        ":expires": {"N": str(expires_s)},
    }
    if reset:
        update = "SET #owner = :me, #holders = :one, #ids = :id, #expires = :expires"
        condition = "#expires <= :now"
    else:
        update = "SET #owner = :me, #expires = :expires ADD #holders :one, #ids :id"
        condition = "attribute_not_exists(#holders) OR #holders <= :zero"
        values[":zero"] = {"N": "0"}
        if owner:
            condition += " OR (#owner = :me AND #expires > :now)"
    names = {
        "#owner": OWNER_ATTRIBUTE,
        "#holders": HOLDERS_ATTRIBUTE,
        "#ids": HOLDER_IDS_ATTRIBUTE,
        "#expires": TTL_ATTRIBUTE,
    }
    return _update(table, key, update, condition, names=names, values=values, old_on_failure=True)


def release_or_warn(client: Any, table: str, item: dict[str, Any]) -> None:
    """Release what a deleted connection held; if that fails, say so and carry on: the
    connection is gone either way (its ``left`` notice still due), and what it held frees
    itself when it expires."""
    try:
        _release(client, table, item)
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
                    "connectionId": optional_string_attribute(item, CONNECTION_ID_ATTRIBUTE),
                    "error": code,
                }
            },
        )


def _release(client: Any, table: str, item: dict[str, Any]) -> None:
    """Take one off each counter the deleted connection ``item`` added to and off its name
    claim (only while its owner holds it): one ``TransactWriteItems``, again without the
    writes whose condition failed (a counter already reset)."""
    owner = optional_string_attribute(item, OWNER_ATTRIBUTE)
    writes = [
        _release_write(table, key, LIVE_ATTRIBUTE, None)
        for key in item.get(COUNTERS_ATTRIBUTE, {}).get("SS", [])
    ]
    claim = optional_string_attribute(item, CLAIM_ATTRIBUTE)
    if claim:
        holder = (owner, optional_string_attribute(item, CONNECTION_ID_ATTRIBUTE))
        writes.append(_release_write(table, claim, HOLDERS_ATTRIBUTE, holder))
    for attempt in range(_ENTER_ATTEMPTS):
        if not writes:
            return
        try:
            client.transact_write_items(TransactItems=writes)
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


def live_connections(client: Any, table: str, room: str, now_s: int) -> int:
    """The room's live connections: the sum of its seat shards' unexpired ``live`` counts, read
    by one ``BatchGetItem`` of ``ROOM_SHARDS`` items (every shard a room of any cap may have;
    a missing one counts 0). A counter still holds a connection whose ``$disconnect`` was
    lost, until the counter expires: the count may exceed the room's listed members."""
    keys = [seat_key(room, shard) for shard in range(ROOM_SHARDS)]
    return sum(
        max(0, number_attribute(item, LIVE_ATTRIBUTE, "connections"))
        for item in _get_items(client, table, keys, consistent=False)
        if LIVE_ATTRIBUTE in item and _unexpired(item, now_s)
    )


def name_holders(
    client: Any, table: str, room: str, name_key: str, now_s: int
) -> list[ConnectionId]:
    """The connections holding the name ``name_key`` in ``room``, as its claim records them
    (one strongly consistent ``BatchGetItem`` of one item); none when it is free or expired.
    An id whose ``$disconnect`` was lost stays listed until the claim expires: a caller
    finds such a connection not stored any more."""
    items = _get_items(client, table, [claim_key(room, name_key)], consistent=True)
    if not items or not _unexpired(items[0], now_s):
        return []
    return sorted(ConnectionId(i) for i in items[0].get(HOLDER_IDS_ATTRIBUTE, {}).get("SS", []))


def _unexpired(item: dict[str, Any], now_s: int) -> bool:
    return number_attribute(item, TTL_ATTRIBUTE, "connections") > now_s


def _get_items(
    client: Any, table: str, keys: list[str], *, consistent: bool
) -> list[dict[str, Any]]:
    """The items ``keys`` that exist: one ``BatchGetItem`` (at most 100 keys), again only for
    keys DynamoDB left unprocessed (under throttling), a bounded number of times."""
    request: dict[str, Any] = {
        table: {
            "Keys": [{CONNECTION_ID_ATTRIBUTE: {"S": key}} for key in keys],
            "ConsistentRead": consistent,
        }
    }
    found: list[dict[str, Any]] = []
    for attempt in range(_ENTER_ATTEMPTS):
        response = client.batch_get_item(RequestItems=request)
        found += response.get("Responses", {}).get(table, [])
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(random.uniform(0, _CONFLICT_BACKOFF_S * 2**attempt))  # noqa: S311
    raise StoreError("connections: a batch read kept being left unprocessed")


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
        elif number_attribute(old, TTL_ATTRIBUTE, "connections") <= now_s:
            expired.add(key)
        else:
            full.append(key)
    return full


def _release_write(
    table: str, key: str, count: str, holder: tuple[str, str] | None
) -> dict[str, Any]:
    """Take one off ``count`` on item ``key`` while it is positive; on a claim (``holder``:
    owner, connection id), only while that owner holds it, and forget the connection."""
    names = {"#count": count}
    values: dict[str, Any] = {":minus": {"N": "-1"}, ":zero": {"N": "0"}}
    condition = "#count > :zero"
    update = "ADD #count :minus"
    if holder is not None:
        owner, connection_id = holder
        condition += " AND #owner = :me"
        names["#owner"] = OWNER_ATTRIBUTE
        values[":me"] = {"S": owner}
        if connection_id:
            update += " DELETE #ids :id"
            names["#ids"] = HOLDER_IDS_ATTRIBUTE
            values[":id"] = {"SS": [connection_id]}
    return _update(table, key, update, condition, names=names, values=values, old_on_failure=False)


def _update(
    table: str,
    key: str,
    update: str,
    condition: str,
    *,
    names: dict[str, str],
    values: dict[str, Any],
    old_on_failure: bool,
) -> dict[str, Any]:
    """One conditional ``Update`` of a transaction, on the item ``key``; ``old_on_failure``:
    its cancellation reason carries the item as it was (to tell full from expired)."""
    write: dict[str, Any] = {
        "TableName": table,
        "Key": {CONNECTION_ID_ATTRIBUTE: {"S": key}},
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if old_on_failure:
        write["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": write}
