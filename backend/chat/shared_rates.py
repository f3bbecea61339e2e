"""Shared rate limits: one GCRA budget on an item of its own, spent by every connection that
shares it (a room's messages, a source address's frames, one connection's refusals), with no
read before the write (docs/internals.md, "The connections table")."""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError as BotoClientError

from .connections import CONNECTION_ID_ATTRIBUTE, TTL_ATTRIBUTE
from .items import number_attribute
from .ratelimit import Budget

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


# Writes one admit tries: the TAT may cross now between two of them (an item expiring).
_WRITE_ATTEMPTS: Final = 6
_AHEAD_KEYS: Final = 4096


class SharedRates:
    """The shared budgets of one table, through a boto3 low-level client; remembers the last
    TAT it saw per key (a hint that picks the write to try first)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._ahead: dict[str, int] = {}

    def admit(self, key: str, budget: Budget, now_ms: int) -> int:
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
        for _ in range(_WRITE_ATTEMPTS):
            if add:
                furthest = limit + budget.interval_ms  # the TAT this action may leave at most
                written, tat = self._spend(
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
                written, tat = self._spend(
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

    def _spend(
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
            found = (
                number_attribute(item, SHARED_RATE_ATTRIBUTE, "connections")
                if SHARED_RATE_ATTRIBUTE in item
                else None
            )
            return False, found
        return True, number_attribute(response["Attributes"], SHARED_RATE_ATTRIBUTE, "connections")

    def _remember(self, key: str, tat: int | None) -> None:
        """Keep ``key``'s last known TAT for the next ``admit`` to choose its write."""
        if len(self._ahead) >= _AHEAD_KEYS:
            self._ahead.clear()  # a hint only: a container meeting many keys starts over
        if tat is None:
            self._ahead.pop(key, None)
        else:
            self._ahead[key] = tat
