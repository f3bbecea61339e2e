"""Fault injection: optional delays and error answers on ``@connections``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.management import (
    FORBIDDEN,
    GONE,
    INTERNAL_ERROR,
    LIMIT_EXCEEDED,
    ApiError,
)

_INJECTABLE: Final = {429: LIMIT_EXCEEDED, 500: INTERNAL_ERROR, 410: GONE, 403: FORBIDDEN}


@dataclass(frozen=True)
class FaultInjection:
    """Optional misbehaviour of ``@connections``, for benchmarks and reliability tests.

    ``delay_s`` is a fixed delay or a ``(low, high)`` range drawn uniformly per call;
    ``error_rate`` is the fraction of calls answered with one of ``error_statuses``.
    """

    delay_s: float | tuple[float, float] = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (429, 500)

    def __post_init__(self) -> None:
        low, high = self._delay_range()
        if not 0 <= low <= high:
            raise EmulatorConfigError(
                f"inject delay {self.delay_s!r} must be >= 0 seconds, "
                "or (low, high) with 0 <= low <= high"
            )
        if not 0.0 <= self.error_rate <= 1.0:
            raise EmulatorConfigError(f"inject error rate {self.error_rate} must be in [0, 1]")
        unknown = set(self.error_statuses) - set(_INJECTABLE)
        if unknown or not self.error_statuses:
            raise EmulatorConfigError(
                f"inject error statuses {self.error_statuses} must be some of {sorted(_INJECTABLE)}"
            )

    @property
    def active(self) -> bool:
        """Whether this injects anything at all."""
        return self._delay_range() != (0.0, 0.0) or self.error_rate > 0

    def draw(self, rng: random.Random) -> tuple[float, ApiError | None]:
        """The delay and the error (or None) for one call."""
        low, high = self._delay_range()
        delay = low if low == high else rng.uniform(low, high)
        error = None
        if self.error_rate > 0 and rng.random() < self.error_rate:
            error = _INJECTABLE[rng.choice(self.error_statuses)]
        return delay, error

    def _delay_range(self) -> tuple[float, float]:
        if isinstance(self.delay_s, tuple):
            return float(self.delay_s[0]), float(self.delay_s[1])
        return float(self.delay_s), float(self.delay_s)
