"""The messages table's item: its attributes, and a ``StoredMessage`` to and from them.

- Message item: ``room``, ``id``, ``from`` S, ``text`` S, ``sentAt`` N (epoch ms, the time the
  id carries), ``expiresAt`` N (epoch s; the table's TTL attribute), ``owner`` S (whose it is:
  ``stored.message_owner``), ``rev`` N (1, plus one per change), ``changedAt`` N (epoch ms of
  the last write, the writer's clock), ``editedAt`` N (epoch ms, once edited), ``deleted``
  BOOL (a tombstone: no ``text``, no reactions).
- Reactions, top-level attributes (``ADD``/``DELETE`` work on top-level sets only): ``r:{emoji}``
  SS of reactor ids (``stored.reactor_id``), ``o:{emoji}`` N (when that emoji's first reactor
  came: the display order), ``p:{reactor id}`` SS of that person's emoji (the per-person cap),
  ``rt`` N all reactions, ``rd`` N distinct emoji.
"""

from __future__ import annotations

from typing import Any, Final

from .errors import ErrorCode
from .items import number_attribute, optional_string_attribute, string_attribute
from .stored import Reaction, StoredMessage

REACTORS_PREFIX: Final = "r:"
ORDER_PREFIX: Final = "o:"
PERSON_PREFIX: Final = "p:"
_REACTION_PREFIXES: Final = (REACTORS_PREFIX, ORDER_PREFIX, PERSON_PREFIX)
TOTAL_ATTRIBUTE: Final = "rt"
DISTINCT_ATTRIBUTE: Final = "rd"
# Who made a tombstone (``stored.DELETED_BY_*``); absent on those made before moderators.
DELETED_BY_ATTRIBUTE: Final = "deletedBy"


def message_item(message: StoredMessage) -> dict[str, Any]:
    """The item of ``message`` without reactions (a new message, or a clean tombstone)."""
    item: dict[str, Any] = {
        "room": {"S": message.room},
        "id": {"S": message.message_id},
        "from": {"S": message.sender},
        "sentAt": {"N": str(message.sent_at_ms)},
        "expiresAt": {"N": str(message.expires_at_s)},
        "owner": {"S": message.owner},
        "rev": {"N": str(message.rev)},
        "changedAt": {"N": str(message.changed_at_ms or message.sent_at_ms)},
    }
    if message.deleted:
        item["deleted"] = {"BOOL": True}
        if message.deleted_by:
            item[DELETED_BY_ATTRIBUTE] = {"S": message.deleted_by}
    else:
        item["text"] = {"S": message.text}
    if message.edited_at_ms is not None and not message.deleted:
        item["editedAt"] = {"N": str(message.edited_at_ms)}
    return item


def message_from_item(item: dict[str, Any]) -> StoredMessage:
    deleted = item.get("deleted", {}).get("BOOL") is True
    sent_at_ms = _number(item, "sentAt")
    edited = item.get("editedAt")
    return StoredMessage(
        message_id=_string(item, "id"),
        room=_string(item, "room"),
        sender=_string(item, "from"),
        text="" if deleted else _string(item, "text"),
        sent_at_ms=sent_at_ms,
        expires_at_s=_number(item, "expiresAt"),
        owner=optional_string_attribute(item, "owner"),
        # Items written before changes existed: as sent, never changed.
        rev=_number(item, "rev") if "rev" in item else 1,
        changed_at_ms=_number(item, "changedAt") if "changedAt" in item else sent_at_ms,
        edited_at_ms=None if edited is None else _number(item, "editedAt"),
        deleted=deleted,
        reactions=() if deleted else _reactions(item),
        deleted_by=optional_string_attribute(item, DELETED_BY_ATTRIBUTE) if deleted else "",
    )


def _reactions(item: dict[str, Any]) -> tuple[Reaction, ...]:
    """The item's reactions in first-reacted order (``o:{emoji}``, then the emoji itself)."""
    found: list[tuple[int, str, frozenset[str]]] = []
    for name, value in item.items():
        if not name.startswith(REACTORS_PREFIX):
            continue
        reactors = value.get("SS")
        if not reactors:
            continue
        emoji = name[len(REACTORS_PREFIX) :]
        order = item.get(ORDER_PREFIX + emoji, {}).get("N", "0")
        found.append((int(order), emoji, frozenset(reactors)))
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return tuple(Reaction(emoji, reactors) for _, emoji, reactors in found)


def has_reaction_attributes(item: dict[str, Any]) -> bool:
    return any(name.startswith(_REACTION_PREFIXES) for name in item) or TOTAL_ATTRIBUTE in item


def refusal(
    item: dict[str, Any] | None,
    owner: str | None,
    now_s: int,
    changeable: ErrorCode | None = ErrorCode.INTERNAL_ERROR,
) -> ErrorCode | None:
    """Why a change may not be made to the item as it is (``None``: no such item): gone,
    someone else's (when ``owner`` is given), a tombstone; else ``changeable``."""
    if item is None or "from" not in item or _number(item, "expiresAt") <= now_s:
        return ErrorCode.NOT_FOUND
    if owner is not None and optional_string_attribute(item, "owner") != owner:
        return ErrorCode.NOT_YOURS
    if item.get("deleted", {}).get("BOOL") is True:
        return ErrorCode.MESSAGE_DELETED
    return changeable


def _string(item: dict[str, Any], name: str) -> str:
    return string_attribute(item, name, "messages")


def _number(item: dict[str, Any], name: str) -> int:
    return number_attribute(item, name, "messages")
