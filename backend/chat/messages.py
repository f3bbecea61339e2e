"""The messages table: every accepted message, per room, in id order; the room's history.

Key design (docs/internals.md, "The messages table"):

- Table key: ``room`` (S, hash) and ``id`` (S, range): a message's ULID, so a room's partition
  is sorted in time order and every read is a ``Query`` on one partition with a key condition
  (newest first for the latest page, ``ScanIndexForward``), never a Scan.
- Message item: ``room``, ``id``, ``from`` S, ``text`` S, ``sentAt`` N (epoch ms, the time the
  id carries), ``expiresAt`` N (epoch s; the table's TTL attribute).
- Idempotency item, for a message sent with a ``clientId``: ``room`` = ``{room}#client`` (``#``
  cannot occur in a room name, so history reads never meet it), ``id`` = the ``clientId``,
  ``messageId`` S, ``expiresAt`` N (the message's). ``add`` writes both in one
  ``TransactWriteItems`` whose first ``Put`` requires that no unexpired item holds the
  ``clientId``: a resend stores nothing, and the refusal returns the earlier ``messageId``
  (``ReturnValuesOnConditionCheckFailure``), never a read-then-write race.
- TTL deletes late (typically within days, "Working with time to live (TTL)"), so reads skip
  expired messages themselves: the key condition starts at the retention floor (the ULID of
  ``now - retention``, the ids' time prefix being ``sentAt``), and a filter on ``expiresAt``
  guards against items written under a longer retention.

Every DynamoDB call is a direct method call on the injected low-level client (``self._client``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as BotoClientError

from .errors import MessageNotStored, StoreError
from .ids import MAX_ULID, encode_ulid, ulid_predecessor, ulid_successor
from .items import number_attribute, string_attribute
from .stored import Direction, StoredMessage

CLIENT_ID_PARTITION_SUFFIX: Final = "#client"
# The table as ``create_table`` arguments: what the local stack and the tests create, and what a
# Terraform test holds terraform/dynamodb.tf to.
TABLE_SCHEMA: Final[dict[str, Any]] = {
    "AttributeDefinitions": [
        {"AttributeName": "room", "AttributeType": "S"},
        {"AttributeName": "id", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "room", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
_CONDITION_FAILED: Final = "ConditionalCheckFailed"
_NO_CONDITION_FAILED: Final = "None"


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """What a history read returns: messages nearest the cursor first (newest first for
    ``LATEST`` and ``BEFORE``), and whether the room has more beyond the last of them."""

    messages: tuple[StoredMessage, ...]
    more: bool


@dataclass(frozen=True, slots=True)
class Added:
    """The outcome of ``add``: the stored message, and whether it was stored earlier already."""

    message: StoredMessage
    duplicate: bool = False


class MessageStore(Protocol):
    """What the use cases need from the messages table."""

    def add(self, message: StoredMessage, client_id: str | None, now_s: int) -> Added:
        """Store ``message``; with a ``client_id`` already used in the room, store nothing and
        return the earlier message (``duplicate``). Raises ``MessageNotStored``."""

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
        """Up to ``limit`` unexpired messages of ``room`` from ``cursor`` in ``direction``."""


class DynamoMessageStore:
    """``MessageStore`` on a DynamoDB table through a boto3 low-level client."""

    def __init__(self, client: Any, table_name: str) -> None:
        """``client`` is a boto3 DynamoDB client; ``table_name`` the messages table."""
        self._client = client
        self._table = table_name

    def add(self, message: StoredMessage, client_id: str | None, now_s: int) -> Added:
        """Write the message (and its idempotency item) conditionally; see the module doc."""
        item = _message_item(message)
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
        return _message_from_item(item)

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
            found.extend(_message_from_item(item) for item in page.get("Items", []))
            last_key = page.get("LastEvaluatedKey")
            if len(found) > limit or not last_key:
                break
            request["ExclusiveStartKey"] = last_key
            request["Limit"] = limit + 1 - len(found)
        found = [message for message in found if message.expires_at_s > now_s]
        return HistoryRead(tuple(found[:limit]), more=len(found) > limit)


def _message_item(message: StoredMessage) -> dict[str, Any]:
    return {
        "room": {"S": message.room},
        "id": {"S": message.message_id},
        "from": {"S": message.sender},
        "text": {"S": message.text},
        "sentAt": {"N": str(message.sent_at_ms)},
        "expiresAt": {"N": str(message.expires_at_s)},
    }


def _message_from_item(item: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        message_id=_string(item, "id"),
        room=_string(item, "room"),
        sender=_string(item, "from"),
        text=_string(item, "text"),
        sent_at_ms=_number(item, "sentAt"),
        expires_at_s=_number(item, "expiresAt"),
    )


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


def _string(item: dict[str, Any], name: str) -> str:
    return string_attribute(item, name, "messages")


def _number(item: dict[str, Any], name: str) -> int:
    return number_attribute(item, name, "messages")
