"""What a broadcast is given and what it reports: ``RetryPolicy`` (how hard to try one
recipient) and ``BroadcastStats`` (what happened to a broadcast).

Apart from ``broadcast`` because every route needs them, the handler (a route's result) and the
runtime (the container's policy) included, while ``$connect`` posts nothing: its cold start
loads these two classes and not the fan-out (``docs/performance.md``, "Cold start").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Final

from .connections import ConnectionId


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one recipient."""

    max_attempts: int = 3
    base_delay_s: float = 0.05
    max_delay_s: float = 1.0
    reserve_ms: int = 1000

    def backoff(self, attempt: int, jitter: float) -> float:
        """Full jitter: uniform in ``[0, min(max_delay, base * 2**(attempt-1))]``."""
        return jitter * min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))


DEFAULT_POLICY: Final = RetryPolicy()


@dataclass(frozen=True, slots=True)
class BroadcastStats:
    """What happened to one broadcast; ``failed`` includes ``too_large`` and ``forbidden``.

    ``gone`` names the pruned connections (for ``left`` notices) and ``elapsed_ms`` is the
    wall time spent delivering; neither is compared, so stats compare by their counts.
    """

    delivered: int = 0
    pruned: int = 0
    retried: int = 0
    failed: int = 0
    too_large: int = 0
    forbidden: int = 0
    gone: tuple[ConnectionId, ...] = field(default=(), compare=False)
    elapsed_ms: float = field(default=0.0, compare=False)
    filtered: int = field(default=0, compare=False)
    """Messages the word filter masked on the way: ``messages_filtered``."""

    def __add__(self, other: BroadcastStats) -> BroadcastStats:
        """Add two stats field by field."""
        return BroadcastStats(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(BroadcastStats))
        )
