"""The answers to the sender alone that need nothing of its room: ``pong``, the ``$default``
route's refusal, and the error frame for any rejected action.

Apart from ``rooms`` so that a cold start whose first event is a ``ping`` loads neither the
rooms' use cases nor the messages table's module; the client frames' module (``protocol``) is
loaded by the first refusal, which is the only answer here that parses a frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from ..frames import error_frame, pong_frame
from .admission import PING_BUDGET, admit

if TYPE_CHECKING:
    from ..broadcast import Outbox
    from ..connections import ConnectionId, ConnectionStore
    from ..delivery import BroadcastStats
    from ..errors import ClientError


def ping(
    connection_id: ConnectionId, *, store: ConnectionStore, outbox: Outbox, now_ms: int
) -> BroadcastStats:
    """Answer ``pong`` to the sender only (within the ping budget)."""
    admit(store, connection_id, PING_BUDGET, now_ms)
    return outbox.send(pong_frame(), [connection_id])


def reject_default(body: str | None, *, is_base64: bool = False) -> NoReturn:
    """The ``$default`` route: every frame that reaches it is an error for its sender."""
    from ..protocol import parse_object, unknown_action  # noqa: PLC0415 (see the module's doc)

    parse_object(body, is_base64=is_base64)  # raises invalid_json / invalid_frame
    raise unknown_action()


def reply_error(
    connection_id: ConnectionId, error: ClientError, *, outbox: Outbox
) -> BroadcastStats:
    """Send ``error`` to the offending connection only."""
    frame = error_frame(error.code, error.message, error.client_id, error.retry_after_ms)
    return outbox.send(frame, [connection_id])
