"""Pacing: a token bucket that holds a broadcast's posts under a rate, with a bounded burst.

API Gateway's account throttle is itself a token bucket (10,000 requests a second, a bucket of
5,000: "Throttle API requests for better throughput", API Gateway Developer Guide), shared by
every client frame and every ``@connections`` post. A delivery worker paces its own posts with
the same shape at its share of both (``chat.jobs``): it may start with ``burst`` posts at once,
then ``rate`` a second. A retry takes a token too, so 429s back off inside the same budget.

Both fan-out paths use one bucket: the one-thread dispatcher asks ``ready_in`` before it starts
a post and ``take``s the token when it does (it never sleeps: the wait becomes its selector's
timeout); the thread pool's couriers call ``reserve`` and sleep for what it answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``burst`` posts at once, refilled at ``rate`` a second; starts full."""

    def __init__(
        self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = self._burst
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now

    def ready_in(self) -> float:
        """Seconds until a token is there (0: now); takes nothing."""
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def take(self) -> None:
        """Take one token (after ``ready_in`` answered 0)."""
        with self._lock:
            self._refill()
            self._tokens -= 1

    def reserve(self) -> float:
        """Take one token, in advance if none is there; seconds to wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate
