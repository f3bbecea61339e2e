"""How the emulated WebSocket API is configured: ``EmulatorSettings``, and
``AuthorizerSettings`` for a Lambda REQUEST authorizer on ``$connect``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from local_stack.emulator.authorization import check_identity_source
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.core.quotas import IDLE_TIMEOUT_S, INTEGRATION_TIMEOUT_S, MAX_CONNECTION_S
from local_stack.emulator.core.routes import DEFAULT_ROUTE_SELECTION_EXPRESSION, RESERVED_ROUTES
from local_stack.emulator.core.throttling import Throttle
from local_stack.emulator.lambda_runtime import FunctionSettings

_STAGE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class AuthorizerSettings:
    """A Lambda REQUEST authorizer on ``$connect`` (``authorization`` has the rules).

    ``identity_sources`` are in API Gateway's syntax, e.g.
    ``("route.request.header.Sec-WebSocket-Protocol",)`` or
    ``("route.request.querystring.token",)``: a handshake missing one is refused with 401
    before the authorizer runs.
    """

    function: FunctionSettings
    identity_sources: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity_sources", tuple(self.identity_sources))
        if not self.identity_sources:
            raise EmulatorConfigError("an authorizer needs at least one identity source")
        for source in self.identity_sources:
            check_identity_source(source)


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulated WebSocket API is configured."""

    stage: str = "local"
    api_id: str = "loca1stack"
    region: str = "us-east-1"
    """The region ``@connections`` signatures must name (the function's)."""
    route_selection_expression: str = DEFAULT_ROUTE_SELECTION_EXPRESSION
    routes: frozenset[str] = RESERVED_ROUTES
    """The API's route keys; an application adds its own (the chat's: ``stack.CHAT_ROUTES``)."""
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_connection_s: float = MAX_CONNECTION_S
    integration_timeout_s: float = INTEGRATION_TIMEOUT_S
    """How long API Gateway waits for an integration, whatever the function's own timeout."""
    heartbeat_s: float | None = None
    """A test-only switch: WebSocket pings at this interval. API Gateway sends none, so a client
    that vanishes without a close frame or a TCP reset is only found by the idle timeout or a
    post; keep it None unless a test is about pings."""
    faults: FaultInjection = field(default_factory=FaultInjection)
    disconnect_loss_rate: float = 0.0
    """Fraction of ``$disconnect`` events dropped (API Gateway delivers them best-effort)."""
    seed: int | None = None
    """Seeds the random choices of fault injection and event loss, for repeatable runs."""
    throttling: Throttle | None = None
    """The stage's default route throttling (rate and burst, a token bucket per route); None,
    the default, throttles nothing, as a new stage on AWS has no limit of its own (only the
    account's 10,000 requests per second, which no local run reaches)."""
    route_throttling: Mapping[str, Throttle] = field(default_factory=dict)
    """Per-route throttling over ``throttling`` (``$connect`` and message routes; ``$disconnect``
    is never throttled here). A throttled ``$connect`` is refused with 429; a throttled message
    gets the ``Too Many Requests`` frame and never reaches the integration."""
    authorizer: AuthorizerSettings | None = None
    """A Lambda REQUEST authorizer on ``$connect``; None (the default) lets everyone in. The
    emulator's owner runs the function and passes its invoker as ``Emulator(authorize=...)``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", frozenset(self.routes))  # any iterable of route keys
        if not _STAGE.fullmatch(self.stage):
            raise EmulatorConfigError(f"stage {self.stage!r} must be 1-128 of A-Z a-z 0-9 _ -")
        if not 0.0 <= self.disconnect_loss_rate <= 1.0:
            raise EmulatorConfigError("disconnect_loss_rate must be in [0, 1]")
        if self.integration_timeout_s <= 0:
            raise EmulatorConfigError("integration_timeout_s must be a positive number of seconds")
        object.__setattr__(self, "route_throttling", dict(self.route_throttling))
        unknown = set(self.route_throttling) - set(self.routes)
        if unknown:
            raise EmulatorConfigError(f"route_throttling names unknown route(s) {sorted(unknown)}")
