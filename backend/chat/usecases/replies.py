"""The answers to the sender alone that need nothing of its room: ``pong``, the ``$default``
route's refusal, the error frame for any rejected action, and the close of a connection that
keeps being refused.

Apart from ``rooms`` so that a cold start whose first event is a ``ping`` loads neither the
rooms' use cases nor the messages table's module; the client frames' module (``protocol``) is
loaded by the first refusal, which is the only answer here that parses a frame.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

from ..delivery import BroadcastStats
from ..errors import ConnectionGone, DeliveryFailed
from ..frames import error_frame, pong_frame
from .admission import PING_BUDGET, STRAY_BUDGET, admit, counts_as_refusal, over_refusals

if TYPE_CHECKING:
    from ..broadcast import Broadcaster
    from ..config import Settings
    from ..connections import ConnectionId, ConnectionStore
    from ..errors import ClientError
    from .call import RouteCall

log = logging.getLogger("chat.replies")


def ping(call: RouteCall) -> BroadcastStats:
    """Answer ``pong`` to the sender only (within the ping budget)."""
    admit(call.store, call.connection_id, PING_BUDGET, call.now_ms)
    return call.broadcaster.send(pong_frame(), [call.connection_id])


def reject_default(call: RouteCall) -> NoReturn:
    """The ``$default`` route: every frame that reaches it is an error for its sender, charged
    to the connection's stray-frame budget first (``rate_limited`` past it)."""
    from ..protocol import parse_object, unknown_action  # noqa: PLC0415 (see the module's doc)

    admit(call.store, call.connection_id, STRAY_BUDGET, call.now_ms)
    parse_object(call.body, is_base64=call.is_base64)  # raises invalid_json / invalid_frame
    raise unknown_action()


def reply_error(
    connection_id: ConnectionId, error: ClientError, *, broadcaster: Broadcaster
) -> BroadcastStats:
    """Send ``error`` to the offending connection only."""
    frame = error_frame(
        error.code,
        error.message,
        error.client_id,
        error.retry_after_ms,
        error.message_id,
        until=error.until,
    )
    return broadcaster.send(frame, [connection_id])


def refuse(
    connection_id: ConnectionId,
    error: ClientError,
    *,
    store: ConnectionStore,
    broadcaster: Broadcaster,
    settings: Settings,
    now_ms: int,
) -> tuple[bool, BroadcastStats]:
    """Count a refused frame against the connection's refusal budget and answer ``error``; past
    the budget, close the connection through ``@connections`` instead of answering (the answers
    would cost a post each, forever). Returns (closed, what the answer's delivery did)."""
    if counts_as_refusal(error) and over_refusals(store, connection_id, settings, now_ms):
        try:
            broadcaster.sender.delete_connection(connection_id)
        except ConnectionGone:
            pass  # closed already: by the client, or by a concurrent refusal
        except DeliveryFailed as failure:
            # Not closed (throttled, forbidden): answer as usual, the next refusal tries again.
            log.warning(
                "could not close a refused connection",
                extra={"fields": {"connectionId": connection_id, "reason": type(failure).__name__}},
            )
            return False, reply_error(connection_id, error, broadcaster=broadcaster)
        log.warning(
            "closed a connection over its refusal budget",
            extra={"fields": {"connectionId": connection_id, "code": str(error.code)}},
        )
        return True, BroadcastStats()
    return False, reply_error(connection_id, error, broadcaster=broadcaster)
