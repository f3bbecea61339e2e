"""Stage and route throttling: a ``TokenBucket`` per route."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.sources import Clock


@dataclass(frozen=True)
class Throttle:
    """A stage's or a route's throttling target: ``ThrottlingRateLimit`` (requests per second,
    steady state) and ``ThrottlingBurstLimit`` (the bucket's size), as ``update-stage
    --route-settings`` sets them ("Protect your WebSocket APIs in API Gateway")."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_s < 0 or self.burst < 0:
            raise EmulatorConfigError(
                f"throttle rate {self.rate_per_s} and burst {self.burst} must be >= 0"
            )


class TokenBucket:
    """The token bucket API Gateway throttles with: one token per request, ``burst`` tokens at
    most, refilled at ``rate_per_s``; a request that finds no token is throttled."""

    def __init__(self, throttle: Throttle, clock: Clock) -> None:
        self._throttle = throttle
        self._clock = clock
        self._tokens = float(throttle.burst)
        self._at = clock()

    def take(self) -> bool:
        """Spend a token if there is one; False means the request is throttled."""
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._tokens = min(
            float(self._throttle.burst), self._tokens + elapsed * self._throttle.rate_per_s
        )
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class StageThrottling:
    """A stage's throttling: a bucket per route, with the route's own settings or else the
    stage's default route settings; a route with neither is not throttled.

    "Protect your WebSocket APIs in API Gateway": API Gateway throttles with a token bucket,
    "a token counts for a request", per stage and per route (route-level throttling overrides
    the stage's). The account-level limits (10,000 requests per second, burst 5,000, shared by
    every API of the account in the Region) are not emulated: a local stack never reaches them.
    """

    def __init__(
        self, default: Throttle | None, routes: Mapping[str, Throttle], clock: Clock
    ) -> None:
        self._default = default
        self._routes = dict(routes)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def active(self) -> bool:
        """Whether any route is throttled at all."""
        return self._default is not None or bool(self._routes)

    def allow(self, route: str) -> bool:
        """Whether a request on ``route`` gets through (it takes a token if so)."""
        throttle = self._routes.get(route, self._default)
        if throttle is None:
            return True
        bucket = self._buckets.get(route)
        if bucket is None:
            bucket = self._buckets[route] = TokenBucket(throttle, self._clock)
        return bucket.take()
