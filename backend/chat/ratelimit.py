"""Per-connection rate limits: the generic cell rate algorithm (GCRA), pure.

A budget allows ``per_minute`` actions sustained and ``burst`` back to back. GCRA keeps one
number per connection and budget, the theoretical arrival time (TAT): an action at ``now`` is
allowed when ``now >= TAT - tolerance``, and then moves TAT to ``max(TAT, now) + interval``.
One number means one attribute on the connection's item, updated with one conditional write
(``connection_table.DynamoConnectionStore.admit``), so the limit holds across Lambda containers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MS_PER_MINUTE: Final = 60_000


@dataclass(frozen=True, slots=True)
class Budget:
    """A rate limit kept in the connection item's attribute ``attribute``."""

    attribute: str
    per_minute: int
    burst: int

    @property
    def interval_ms(self) -> int:
        """The time one action costs."""
        return max(1, MS_PER_MINUTE // self.per_minute)

    @property
    def tolerance_ms(self) -> int:
        """How far ahead of now TAT may run: ``burst - 1`` intervals."""
        return self.interval_ms * (self.burst - 1)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Allowed (with the new TAT to store) or refused (with how long to wait)."""

    allowed: bool
    next_tat_ms: int = 0
    retry_after_ms: int = 0


def decide(tat_ms: int | None, now_ms: int, budget: Budget) -> Verdict:
    """GCRA's decision for an action at ``now_ms`` given the stored TAT (``None``: none yet)."""
    if tat_ms is None or tat_ms <= now_ms:
        return Verdict(True, next_tat_ms=now_ms + budget.interval_ms)
    earliest = tat_ms - budget.tolerance_ms
    if now_ms < earliest:
        return Verdict(False, retry_after_ms=earliest - now_ms)
    return Verdict(True, next_tat_ms=tat_ms + budget.interval_ms)
