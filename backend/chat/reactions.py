"""A reaction toggle as one conditional write: the message's caps, the write that fits the item
as it is (``plan_toggle``), and that write's ``UpdateItem`` arguments (``toggle_request``).

A toggle is one conditional ``UpdateItem`` whose condition holds every cap; it is written for the
item as it guesses it, and a refusal returns the item (``ReturnValuesOnConditionCheckFailure``),
from which the right write is chosen: never a read before a write. The attributes it writes are
``message_items``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import ErrorCode
from .message_items import (
    DISTINCT_ATTRIBUTE,
    ORDER_PREFIX,
    PERSON_PREFIX,
    REACTORS_PREFIX,
    TOTAL_ATTRIBUTE,
    refusal,
)


@dataclass(frozen=True, slots=True)
class ReactionCaps:
    """A message's reaction caps: distinct emoji, one person's reactions, all reactions."""

    distinct: int
    per_person: int
    total: int


class Toggle(Enum):
    """The four writes a reaction toggle can be, each conditioned on the item's state."""

    ADD_EXISTING = "add to an emoji others reacted with"
    ADD_NEW = "add an emoji the message does not show yet"
    REMOVE_ONE = "take one's reaction off, others remaining"
    REMOVE_LAST = "take off the emoji's last reaction"


def plan_toggle(
    item: dict[str, Any] | None, reactor: str, emoji: str, caps: ReactionCaps, now_s: int
) -> Toggle | ErrorCode:
    """The write that toggles ``reactor``'s ``emoji`` on ``item`` as it is, or why none may."""
    gone = refusal(item, None, now_s, changeable=None)
    if gone is not None or item is None:
        return gone or ErrorCode.NOT_FOUND
    reactors = item.get(REACTORS_PREFIX + emoji, {}).get("SS") or []
    if reactor in reactors:
        return Toggle.REMOVE_LAST if len(reactors) == 1 else Toggle.REMOVE_ONE
    mine = item.get(PERSON_PREFIX + reactor, {}).get("SS") or []
    total = int(item.get(TOTAL_ATTRIBUTE, {}).get("N", "0"))
    if len(mine) >= caps.per_person or total >= caps.total:
        return ErrorCode.TOO_MANY_REACTIONS
    if reactors:
        return Toggle.ADD_EXISTING
    if int(item.get(DISTINCT_ATTRIBUTE, {}).get("N", "0")) >= caps.distinct:
        return ErrorCode.TOO_MANY_REACTIONS
    return Toggle.ADD_NEW


def toggle_request(
    toggle: Toggle, reactor: str, emoji: str, caps: ReactionCaps, now_ms: int
) -> dict[str, Any]:
    """The ``UpdateItem`` arguments (but table and key) of ``toggle``: every cap and the item's
    state it assumes are in its condition, so a concurrent change fails it, never breaks a cap."""
    names = {
        "#id": "id",
        "#deleted": "deleted",
        "#expires": "expiresAt",
        "#r": REACTORS_PREFIX + emoji,
    }
    names |= {
        "#changed": "changedAt",
        "#rev": "rev",
        "#p": PERSON_PREFIX + reactor,
        "#rt": TOTAL_ATTRIBUTE,
    }
    values: dict[str, Any] = {
        ":nows": {"N": str(now_ms // 1000)},
        ":now": {"N": str(now_ms)},
        ":one": {"N": "1"},
        ":rids": {"SS": [reactor]},
        ":emojis": {"SS": [emoji]},
    }
    condition = "attribute_exists(#id) AND attribute_not_exists(#deleted) AND #expires > :nows"
    person_cap = "(attribute_not_exists(#p) OR size(#p) < :maxp)"
    if toggle in (Toggle.ADD_EXISTING, Toggle.ADD_NEW):
        values |= {":maxp": {"N": str(caps.per_person)}, ":maxt": {"N": str(caps.total)}}
    if toggle is Toggle.ADD_EXISTING:
        condition += (
            f" AND attribute_exists(#r) AND NOT contains(#r, :rid) AND #rt < :maxt AND {person_cap}"
        )
        values[":rid"] = {"S": reactor}
        update = "SET #changed = :now ADD #r :rids, #p :emojis, #rt :one, #rev :one"
    elif toggle is Toggle.ADD_NEW:
        names |= {"#rd": DISTINCT_ATTRIBUTE, "#o": ORDER_PREFIX + emoji}
        values[":maxd"] = {"N": str(caps.distinct)}
        condition += (
            " AND attribute_not_exists(#r) AND (attribute_not_exists(#rd) OR #rd < :maxd)"
            f" AND (attribute_not_exists(#rt) OR #rt < :maxt) AND {person_cap}"
        )
        update = (
            "SET #changed = :now, #o = :now ADD #r :rids, #p :emojis, #rt :one, #rd :one, #rev :one"
        )
    elif toggle is Toggle.REMOVE_ONE:
        values |= {":rid": {"S": reactor}, ":minus": {"N": "-1"}}
        condition += " AND contains(#r, :rid) AND size(#r) > :one"
        update = "SET #changed = :now ADD #rt :minus, #rev :one DELETE #r :rids, #p :emojis"
    else:
        names |= {"#rd": DISTINCT_ATTRIBUTE, "#o": ORDER_PREFIX + emoji}
        del values[":rids"]  # the whole set goes
        values |= {":rid": {"S": reactor}, ":minus": {"N": "-1"}}
        condition += " AND contains(#r, :rid) AND size(#r) = :one"
        update = (
            "SET #changed = :now ADD #rt :minus, #rd :minus, #rev :one REMOVE #r, #o"
            " DELETE #p :emojis"
        )
    return {
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
