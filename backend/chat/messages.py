"""The messages table: every accepted message, per room, in id order; the room's history.

Key design (docs/internals.md, "The messages table"):

- Table key: ``room`` (S, hash) and ``id`` (S, range): a message's ULID, so a room's partition
  is sorted in time order and every read is a ``Query`` on one partition with a key condition
  (newest first for the latest page, ``ScanIndexForward``), never a Scan.
- Message items and their reactions: ``message_items`` (the attributes) and ``reactions`` (a
  toggle: one conditional ``UpdateItem`` whose condition holds every cap, never a read before
  a write).
- ``changes-index`` (GSI: ``room`` hash, ``changedAt`` range, projection ALL): every message
  write stamps ``changedAt``, so a room's changes since a moment are one Query of the index
  (idempotency items have no ``changedAt``: the index is sparse).
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

The records and the port are here; ``message_table.DynamoMessageStore`` is the DynamoDB store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol

from .reactions import ReactionCaps
from .stored import (
    ChangesCursor,
    Direction,
    StoredMessage,
)

CLIENT_ID_PARTITION_SUFFIX: Final = "#client"
# The table as ``create_table`` arguments: what the local stack and the tests create, and what a
# Terraform test holds terraform/dynamodb.tf to.
TABLE_SCHEMA: Final[dict[str, Any]] = {
    "AttributeDefinitions": [
        {"AttributeName": "room", "AttributeType": "S"},
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "changedAt", "AttributeType": "N"},
    ],
    "KeySchema": [
        {"AttributeName": "room", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "changes-index",
            "KeySchema": [
                {"AttributeName": "room", "KeyType": "HASH"},
                {"AttributeName": "changedAt", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
CHANGES_INDEX: Final = "changes-index"
# How far before a client's ``since`` a ``changes`` read starts. A write is stamped just before
# its DynamoDB call, and that call, retries included, gives up within about 24 s
# (``runtime.dynamodb_config``: 3 attempts of at most 2 s to connect and 5 s to read, and their
# backoff), so it lands at most that late after its stamp, whatever the function's timeout (up
# to 900 s); the rest is margin for the index's propagation (GSIs are eventually consistent). A
# message stored that late is still returned; what is returned again is dropped by ``rev``.
CHANGES_OVERLAP_MS: Final = 60_000
# A toggle whose guessed write keeps meeting another change: tries before ``not_stored``.


@dataclass(frozen=True, slots=True)
class Deleted:
    """The outcome of ``delete``: the tombstone, and whether it was one before (``again``)."""

    message: StoredMessage
    again: bool = False


@dataclass(frozen=True, slots=True)
class Toggled:
    """The outcome of ``react``: the message as it is now, and whether the reaction is on."""

    message: StoredMessage
    on: bool


@dataclass(frozen=True, slots=True)
class ChangesRead:
    """What a changes read returns: messages in (``changedAt``, ``id``) order, and whether the
    room has more changes after the last of them."""

    messages: tuple[StoredMessage, ...]
    more: bool


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

    def edit(self, room: str, message_id: str, owner: str, text: str, now_ms: int) -> StoredMessage:
        """Replace the text of ``owner``'s message; raises ``ChangeRefused`` or
        ``MessageNotStored``."""

    def delete(
        self, room: str, message_id: str, owner: str, now_ms: int, *, by_moderator: bool = False
    ) -> Deleted:
        """Make ``owner``'s message a tombstone (text and reactions gone from the item), or,
        ``by_moderator``, anyone's (the tombstone says so); raises ``ChangeRefused``,
        ``MessageNotStored``."""

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
        """Toggle ``reactor``'s ``emoji`` on the message; raises ``ChangeRefused``,
        ``MessageNotStored``."""

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
        """Up to ``limit`` unexpired messages of ``room`` changed at ``since_ms`` or later
        (and after ``after``), oldest change first."""
