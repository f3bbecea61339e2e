"""``RouteCall``: one client frame and everything its use case may use to serve it.

The handler builds one per frame route (every route but ``$connect`` and ``$disconnect``) and
hands it to the use case the route names (``chat.handler.ROUTES``), so a use case declares one
parameter instead of each route adapter unpacking the runtime into the same ten arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..broadcast import Broadcaster
    from ..config import Settings
    from ..connections import ConnectionId, ConnectionStore
    from ..messages import MessageStore
    from ..protocol import ClientFrame


@dataclass(frozen=True, slots=True)
class RouteCall:
    """Who sent which frame, and the runtime's parts that serve it."""

    connection_id: ConnectionId
    body: str | None
    is_base64: bool
    store: ConnectionStore
    messages: MessageStore
    broadcaster: Broadcaster
    settings: Settings
    now_ms: int
    """When the invocation began (epoch ms): budgets and reads are judged at this instant."""
    clock: Callable[[], int]
    """The time now (epoch ms): a change is stamped just before its write (``usecases.changes``)."""
    new_id: Callable[[], str]
    """A new message id (a ULID from this invocation's clock)."""

    def parse(self) -> ClientFrame:
        """The frame, parsed and checked (``ClientError`` with its documented code if it is bad)."""
        from ..protocol import parse_frame  # noqa: PLC0415 (a frame route needs it anyway)

        return parse_frame(
            self.body, max_chars=self.settings.max_message_chars, is_base64=self.is_base64
        )
