"""The messages table on DynamoDB: ``DynamoMessageStore``, the ``MessageStore`` of
``chat.messages`` (its key design, its records and its port).

Every DynamoDB call is a direct method call on the injected low-level client (``self._client``).
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as BotoClientError

from .errors import ChangeRefused, ErrorCode, MessageNotStored, StoreError
from .ids import MAX_ULID, encode_ulid, ulid_predecessor, ulid_successor
from .message_items import (
    DELETED_BY_ATTRIBUTE,
    DISTINCT_ATTRIBUTE,
    TOTAL_ATTRIBUTE,
    has_reaction_attributes,
    message_from_item,
    message_item,
    refusal,
)
from .messages import (
    CHANGES_INDEX,
    CLIENT_ID_PARTITION_SUFFIX,
    Added,
    ChangesRead,
    Deleted,
    HistoryRead,
    Toggled,
)
from .reactions import ReactionCaps, Toggle, plan_toggle, toggle_request
from .stored import (
    DELETED_BY_AUTHOR,
    DELETED_BY_MODERATOR,
    ChangesCursor,
    Direction,
    StoredMessage,
)

_REACT_ATTEMPTS: Final = 4
_CONDITION_FAILED: Final = "ConditionalCheckFailed"
_NO_CONDITION_FAILED: Final = "None"


class DynamoMessageStore:
    """``MessageStore`` on a DynamoDB table through a boto3 low-level client."""

    def __init__(self, client: Any, table_name: str) -> None:
        """``client`` is a boto3 DynamoDB client; ``table_name`` the messages table."""
        self._client = client
        self._table = table_name

    def add(self, message: StoredMessage, client_id: str | None, now_s: int) -> Added:
        """Write the message (and its idempotency item) conditionally; see the module doc."""
        item = message_item(message)
        try:
            if client_id is None:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#id)",
                    ExpressionAttributeNames={"#id": "id"},
                )
                return Added(message)
            self._client.transact_write_items(
                TransactItems=[
                    {"Put": self._claim(message, client_id, now_s)},
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(#id)",
                            "ExpressionAttributeNames": {"#id": "id"},
                        }
                    },
                ]
            )
            return Added(message)
        except BotoClientError as error:
            earlier_id = _claimed_message_id(error)
            if earlier_id is None:
                raise MessageNotStored(_error_code(error)) from error
        except BotoCoreError as error:  # timeouts, unreachable endpoint
            raise MessageNotStored(type(error).__name__) from error
        return Added(self._get(message.room, earlier_id), duplicate=True)

    def _claim(self, message: StoredMessage, client_id: str, now_s: int) -> dict[str, Any]:
        # An expired claim (TTL deletes late) no longer counts: its message is gone from history.
        return {
            "TableName": self._table,
            "Item": {
                "room": {"S": message.room + CLIENT_ID_PARTITION_SUFFIX},
                "id": {"S": client_id},
                "messageId": {"S": message.message_id},
                "expiresAt": {"N": str(message.expires_at_s)},
            },
            "ConditionExpression": "attribute_not_exists(#id) OR #expires <= :now",
            "ExpressionAttributeNames": {"#id": "id", "#expires": "expiresAt"},
            "ExpressionAttributeValues": {":now": {"N": str(now_s)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _get(self, room: str, message_id: str) -> StoredMessage:
        """The earlier message a ``clientId`` became (consistent read)."""
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key={"room": {"S": room}, "id": {"S": message_id}},
                ConsistentRead=True,
            )
        except (BotoClientError, BotoCoreError) as error:
            raise MessageNotStored(type(error).__name__) from error
        item = response.get("Item")
        if item is None:  # written in the same transaction, so only a deletion by hand
            raise StoreError(f"the message a clientId claims is missing from room {room!r}")
        return message_from_item(item)

    def read(
        self,
        room: str,
        direction: Direction,
        cursor: str | None,
        limit: int,
        *,
        now_s: int,
        retention_s: int,
    ) -> HistoryRead:
        """One Query on the room's partition (continued only past filtered-out items)."""
        floor = encode_ulid(max(0, now_s - retention_s) * 1000, 0)
        low, high = floor, MAX_ULID
        if direction is Direction.AFTER and cursor is not None:
            low = max(floor, ulid_successor(cursor))
        elif direction is Direction.BEFORE and cursor is not None:
            high = ulid_predecessor(cursor) or ""
        if not high or low > high:
            return HistoryRead((), more=False)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#room = :room AND #id BETWEEN :low AND :high",
            "FilterExpression": "#expires > :now",
            "ExpressionAttributeNames": {"#room": "room", "#id": "id", "#expires": "expiresAt"},
            "ExpressionAttributeValues": {
                ":room": {"S": room},
                ":low": {"S": low},
                ":high": {"S": high},
                ":now": {"N": str(now_s)},
            },
            "ScanIndexForward": direction is Direction.AFTER,
            "ConsistentRead": True,
            # One more than asked for, so that ``more`` is exact.
            "Limit": limit + 1,
        }
        found: list[StoredMessage] = []
        while True:
            page = self._client.query(**request)
            found.extend(message_from_item(item) for item in page.get("Items", []))
            last_key = page.get("LastEvaluatedKey")
            if len(found) > limit or not last_key:
                break
            request["ExclusiveStartKey"] = last_key
            request["Limit"] = limit + 1 - len(found)
        found = [message for message in found if message.expires_at_s > now_s]
        return HistoryRead(tuple(found[:limit]), more=len(found) > limit)

    def _key(self, room: str, message_id: str) -> dict[str, Any]:
        return {"TableName": self._table, "Key": {"room": {"S": room}, "id": {"S": message_id}}}

    def _update(self, request: dict[str, Any]) -> dict[str, Any]:
        """One conditional ``UpdateItem`` returning the new item; a failed condition is
        ``_Refused`` with the item as it was (``None``: no such item), any other failure
        ``MessageNotStored`` (throttling, timeouts: the client may try again)."""
        try:
            response = self._client.update_item(
                **request,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except BotoClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise _Refused(error.response.get("Item")) from None
            raise MessageNotStored(_error_code(error)) from error
        except BotoCoreError as error:
            raise MessageNotStored(type(error).__name__) from error
        attributes: dict[str, Any] = response["Attributes"]
        return attributes

    def edit(self, room: str, message_id: str, owner: str, text: str, now_ms: int) -> StoredMessage:
        """One ``UpdateItem``: the text, ``editedAt``, ``changedAt`` and ``rev``, on the
        condition that the message exists unexpired, is ``owner``'s and is no tombstone."""
        _require_owner(owner)
        try:
            item = self._update(
                {
                    **self._key(room, message_id),
                    "UpdateExpression": (
                        "SET #text = :text, #edited = :now, #changed = :now ADD #rev :one"
                    ),
                    "ConditionExpression": _OWN_LIVE_MESSAGE,
                    "ExpressionAttributeNames": _OWN_LIVE_NAMES
                    | {
                        "#text": "text",
                        "#edited": "editedAt",
                        "#changed": "changedAt",
                        "#rev": "rev",
                    },
                    "ExpressionAttributeValues": {
                        ":me": {"S": owner},
                        ":nows": {"N": str(now_ms // 1000)},
                        ":text": {"S": text},
                        ":now": {"N": str(now_ms)},
                        ":one": {"N": "1"},
                    },
                }
            )
        except _Refused as refused:
            raise _refused(refused.item, owner, now_ms // 1000) from None
        return message_from_item(item)

    def delete(
        self, room: str, message_id: str, owner: str, now_ms: int, *, by_moderator: bool = False
    ) -> Deleted:
        """One ``UpdateItem`` that removes the text (and the reaction counters) and marks the
        tombstone (``deletedBy``: the author, or a moderator, whose delete is not conditioned
        on the owner); when the item still holds reactions, one ``PutItem`` of the bare
        tombstone replaces it (its names are only known from the item, and a tombstone takes no
        new reaction). Deleting a tombstone again changes nothing (``again``), but finishes a
        cleanup an earlier failure left."""
        if not by_moderator:
            _require_owner(owner)
        now_s = now_ms // 1000
        names = _OWN_LIVE_NAMES if not by_moderator else _LIVE_NAMES
        values: dict[str, Any] = {
            ":nows": {"N": str(now_s)},
            ":true": {"BOOL": True},
            ":now": {"N": str(now_ms)},
            ":one": {"N": "1"},
            ":by": {"S": DELETED_BY_MODERATOR if by_moderator else DELETED_BY_AUTHOR},
        }
        if not by_moderator:
            values[":me"] = {"S": owner}
        checked_owner = None if by_moderator else owner
        try:
            item = self._update(
                {
                    **self._key(room, message_id),
                    "UpdateExpression": (
                        "REMOVE #text, #edited, #rt, #rd"
                        " SET #deleted = :true, #changed = :now, #by = :by ADD #rev :one"
                    ),
                    "ConditionExpression": _LIVE_MESSAGE if by_moderator else _OWN_LIVE_MESSAGE,
                    "ExpressionAttributeNames": names
                    | {
                        "#text": "text",
                        "#edited": "editedAt",
                        "#rt": TOTAL_ATTRIBUTE,
                        "#rd": DISTINCT_ATTRIBUTE,
                        "#changed": "changedAt",
                        "#rev": "rev",
                        "#by": DELETED_BY_ATTRIBUTE,
                    },
                    "ExpressionAttributeValues": values,
                }
            )
            again = False
        except _Refused as refused:
            if refused.item is None or refusal(refused.item, checked_owner, now_s) is not (
                ErrorCode.MESSAGE_DELETED
            ):
                raise _refused(refused.item, checked_owner, now_s) from None
            item, again = refused.item, True
        tombstone = message_from_item(item)
        if has_reaction_attributes(item):
            self._replace_tombstone(tombstone)
        return Deleted(tombstone, again)

    def _replace_tombstone(self, tombstone: StoredMessage) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=message_item(tombstone),
                # Exactly the tombstone just read: nothing else may be overwritten.
                ConditionExpression="#rev = :rev AND #deleted = :true",
                ExpressionAttributeNames={"#rev": "rev", "#deleted": "deleted"},
                ExpressionAttributeValues={
                    ":rev": {"N": str(tombstone.rev)},
                    ":true": {"BOOL": True},
                },
            )
        except BotoClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise MessageNotStored(_error_code(error)) from error
        except BotoCoreError as error:
            raise MessageNotStored(type(error).__name__) from error

    def react(
        self,
        room: str,
        message_id: str,
        reactor: str,
        emoji: str,
        *,
        caps: ReactionCaps,
        now_ms: int,
    ) -> Toggled:
        """Toggle with one conditional ``UpdateItem`` (``toggle_request``), first guessing that
        others reacted with ``emoji`` already; a refusal returns the item, from which
        ``plan_toggle`` picks the write that fits (or the refusal's code)."""
        toggle: Toggle | ErrorCode = Toggle.ADD_EXISTING
        for _ in range(_REACT_ATTEMPTS):
            if isinstance(toggle, ErrorCode):
                raise ChangeRefused(toggle)
            try:
                item = self._update(
                    {
                        **self._key(room, message_id),
                        **toggle_request(toggle, reactor, emoji, caps, now_ms),
                    }
                )
            except _Refused as refused:
                toggle = plan_toggle(refused.item, reactor, emoji, caps, now_ms // 1000)
                continue
            on = toggle in (Toggle.ADD_EXISTING, Toggle.ADD_NEW)
            return Toggled(message_from_item(item), on)
        if isinstance(toggle, ErrorCode):
            raise ChangeRefused(toggle)
        raise MessageNotStored("ReactionContention")

    def changes(
        self,
        room: str,
        since_ms: int,
        after: ChangesCursor | None,
        limit: int,
        *,
        now_s: int,
        retention_s: int,
    ) -> ChangesRead:
        """Query ``changes-index`` from ``since_ms`` (or the cursor's ``changedAt``), never before
        the retention floor. Items that share a ``changedAt`` come in no defined order, so a
        page is cut only after every item of its last ``changedAt`` is in hand, sorted by
        (``changedAt``, ``id``); the cursor skips what it already returned."""
        low = max(since_ms, (now_s - retention_s) * 1000, 0)
        if after is not None:
            low = max(low, after.changed_at_ms)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": CHANGES_INDEX,
            "KeyConditionExpression": "#room = :room AND #changed >= :low",
            "FilterExpression": "#expires > :now",
            "ExpressionAttributeNames": {
                "#room": "room",
                "#changed": "changedAt",
                "#expires": "expiresAt",
            },
            "ExpressionAttributeValues": {
                ":room": {"S": room},
                ":low": {"N": str(low)},
                ":now": {"N": str(now_s)},
            },
            "ScanIndexForward": True,
            "Limit": limit + 1,
        }
        found: list[StoredMessage] = []
        while True:
            page = self._client.query(**request)
            for item in page.get("Items", []):
                message = message_from_item(item)
                if after is None or (message.changed_at_ms, message.message_id) > (
                    after.changed_at_ms,
                    after.message_id,
                ):
                    found.append(message)
            last_key = page.get("LastEvaluatedKey")
            if not last_key or (
                len(found) > limit and found[-1].changed_at_ms != found[limit - 1].changed_at_ms
            ):
                break
            request["ExclusiveStartKey"] = last_key
        found = [m for m in found if m.expires_at_s > now_s]
        found.sort(key=lambda m: (m.changed_at_ms, m.message_id))
        return ChangesRead(tuple(found[:limit]), more=len(found) > limit)


def _require_owner(owner: str) -> None:
    """An empty owner owns nothing (items written before owners existed have none)."""
    if not owner:
        raise ChangeRefused(ErrorCode.NOT_YOURS)


class _Refused(Exception):
    """A conditional write's condition failed; ``item`` is the item as it was, if any."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


# A change by its owner to an unexpired message that is no tombstone.
_OWN_LIVE_MESSAGE: Final = (
    "attribute_exists(#id) AND #owner = :me AND attribute_not_exists(#deleted) AND #expires > :nows"
)
_OWN_LIVE_NAMES: Final = {
    "#id": "id",
    "#owner": "owner",
    "#deleted": "deleted",
    "#expires": "expiresAt",
}
# A moderator's delete: any unexpired message that is no tombstone.
_LIVE_MESSAGE: Final = (
    "attribute_exists(#id) AND attribute_not_exists(#deleted) AND #expires > :nows"
)
_LIVE_NAMES: Final = {"#id": "id", "#deleted": "deleted", "#expires": "expiresAt"}


def _refused(item: dict[str, Any] | None, owner: str | None, now_s: int) -> ChangeRefused:
    """The refusal of an owner's change (``None``: a moderator's) whose condition failed."""
    code = refusal(item, owner, now_s)
    if code is None or code is ErrorCode.INTERNAL_ERROR:
        # Every condition held when the item was returned: it changed in between (a race with
        # a deletion by TTL, or a clock step); the client may try again.
        raise MessageNotStored("ConditionRaced")
    return ChangeRefused(code)


def _claimed_message_id(error: BotoClientError) -> str | None:
    """The earlier ``messageId`` when the transaction failed on the ``clientId`` claim only."""
    response: dict[str, Any] = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = response.get("CancellationReasons") or []
    if not reasons or reasons[0].get("Code") != _CONDITION_FAILED:
        return None
    if any(r.get("Code", _NO_CONDITION_FAILED) != _NO_CONDITION_FAILED for r in reasons[1:]):
        return None
    value = reasons[0].get("Item", {}).get("messageId", {}).get("S")
    return value if isinstance(value, str) else None


def _error_code(error: BotoClientError) -> str:
    response: dict[str, Any] = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "ClientError"))
