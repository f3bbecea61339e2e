"""What every action after ``$connect`` passes first: the sender's stored connection, admitted
under one of its budgets (messages, reads, pings; ``ratelimit``), or a ``ClientError`` for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..connections import (
    MESSAGES_RATE_ATTRIBUTE,
    PINGS_RATE_ATTRIBUTE,
    READS_RATE_ATTRIBUTE,
    Connection,
    ConnectionId,
    ConnectionStore,
)
from ..errors import ClientError, ErrorCode
from ..ratelimit import Budget

if TYPE_CHECKING:
    from ..config import Settings

# A ping every 5 minutes keeps the page's socket alive; this leaves room for far more.
PINGS_PER_MINUTE: Final = 30
PING_BURST: Final = 10
PING_BUDGET: Final = Budget(PINGS_RATE_ATTRIBUTE, PINGS_PER_MINUTE, PING_BURST)


def message_budget(settings: Settings) -> Budget:
    """A connection's budget for ``sendmessage``."""
    return Budget(
        MESSAGES_RATE_ATTRIBUTE,
        settings.rate_limit_messages_per_minute,
        settings.rate_limit_message_burst,
    )


def read_budget(settings: Settings) -> Budget:
    """A connection's budget for ``history``, ``join`` and ``members``."""
    return Budget(
        READS_RATE_ATTRIBUTE, settings.rate_limit_reads_per_minute, settings.rate_limit_read_burst
    )


def admit(
    store: ConnectionStore,
    connection_id: ConnectionId,
    budget: Budget,
    now_ms: int,
    client_id: str | None = None,
) -> Connection:
    """The sender's stored connection, once its action is admitted under ``budget``."""
    admission = store.admit(connection_id, budget, now_ms)
    if admission.connection is None:
        raise ClientError(
            ErrorCode.NOT_CONNECTED,
            "The server has no record of this connection; please reconnect.",
            client_id=client_id,
        )
    if admission.retry_after_ms:
        seconds = max(1, -(-admission.retry_after_ms // 1000))
        raise ClientError(
            ErrorCode.RATE_LIMITED,
            f"You are sending too fast; please wait {seconds} s.",
            client_id=client_id,
            retry_after_ms=admission.retry_after_ms,
        )
    return admission.connection
