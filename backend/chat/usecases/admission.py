"""What every action after ``$connect`` passes first: the sender's stored connection, admitted
under one of its budgets (messages, reads, pings, stray frames; ``ratelimit``) and the shared
ones (its source's frames, its room's messages), or a ``ClientError`` for it; and the refusal
budget that decides when a connection that keeps being refused is closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..connections import (
    MESSAGES_RATE_ATTRIBUTE,
    PINGS_RATE_ATTRIBUTE,
    READS_RATE_ATTRIBUTE,
    STRAYS_RATE_ATTRIBUTE,
    Connection,
    ConnectionId,
    ConnectionStore,
)
from ..errors import ClientError, ErrorCode, RoomBusy
from ..ids import iso_utc
from ..ratelimit import Budget
from ..shared_rates import (
    CONNECTION_REFUSALS,
    ROOM_MESSAGES,
    SHARED_RATE_ATTRIBUTE,
    SOURCE_FRAMES,
    shared_rate_key,
)
from ..sources import source_digest

if TYPE_CHECKING:
    from ..config import Settings

# A ping every 5 minutes keeps the page's socket alive; this leaves room for far more.
PINGS_PER_MINUTE: Final = 30
PING_BURST: Final = 10
PING_BUDGET: Final = Budget(PINGS_RATE_ATTRIBUTE, PINGS_PER_MINUTE, PING_BURST)
# Frames no route takes (not JSON, empty, an unknown action): a working client sends none, a
# buggy one learns of its first few; the rest are answered ``rate_limited`` until the refusal
# budget closes the connection.
STRAYS_PER_MINUTE: Final = 10
STRAY_BURST: Final = 5
STRAY_BUDGET: Final = Budget(STRAYS_RATE_ATTRIBUTE, STRAYS_PER_MINUTE, STRAY_BURST)
# The refusals the refusal budget counts: the client's fault, not the server's (``not_stored``,
# ``internal_error``), and not ``not_connected`` (there is no connection to count on); nor a
# busy room (``RoomBusy``: the sender's own budget admitted it, which bounds those answers).
COUNTED_REFUSALS: Final = frozenset(ErrorCode) - {
    ErrorCode.NOT_STORED,
    ErrorCode.INTERNAL_ERROR,
    ErrorCode.NOT_CONNECTED,
    # A muted member's page may try while muted: its message budget bounds the answers, and
    # closing it would also stop it reading, which a mute allows.
    ErrorCode.MUTED,
}


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


def refusal_budget(settings: Settings) -> Budget:
    """A connection's budget of refused frames; spent past it, the connection is closed."""
    return Budget(
        SHARED_RATE_ATTRIBUTE,
        settings.rate_limit_refusals_per_minute,
        settings.rate_limit_refusal_burst,
    )


def room_budget(settings: Settings) -> Budget:
    """A room's budget for the messages of all its connections together."""
    return Budget(
        SHARED_RATE_ATTRIBUTE,
        settings.rate_limit_room_messages_per_minute,
        settings.rate_limit_room_message_burst,
    )


def source_budget(settings: Settings) -> Budget:
    """A source address's budget for the frames of all its connections together."""
    return Budget(
        SHARED_RATE_ATTRIBUTE,
        settings.rate_limit_source_frames_per_minute,
        settings.rate_limit_source_frame_burst,
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
        raise _rate_limited(admission.retry_after_ms, client_id)
    return admission.connection


def admit_message(
    store: ConnectionStore,
    connection_id: ConnectionId,
    settings: Settings,
    now_ms: int,
    client_id: str | None = None,
    *,
    speaking: bool = True,
) -> Connection:
    """The sender, once its message is admitted under its own budget, then its room's (one
    more ``UpdateItem``: the room is known once the sender's item is read). A muted sender
    is refused before it spends the room's budget, unless it is not ``speaking`` (deleting
    its own message)."""
    sender = admit(store, connection_id, message_budget(settings), now_ms, client_id)
    if speaking:
        refuse_if_muted(sender, now_ms, client_id)
    key = shared_rate_key(ROOM_MESSAGES, sender.room)
    retry_after_ms = store.admit_shared(key, room_budget(settings), now_ms)
    if retry_after_ms:
        busy = _rate_limited(retry_after_ms, client_id, "The room is busy")
        raise RoomBusy(busy.code, busy.message, client_id=client_id, retry_after_ms=retry_after_ms)
    return sender


def refuse_if_muted(sender: Connection, now_ms: int, client_id: str | None = None) -> None:
    """Raise ``muted`` (with ``until``) while a moderator's mute of the sender lasts."""
    if sender.muted_until_s * 1000 > now_ms:
        until = iso_utc(sender.muted_until_s * 1000)
        raise ClientError(
            ErrorCode.MUTED,
            f"A moderator muted you until {until}: you can read, not send.",
            client_id=client_id,
            until=until,
        )


def charge_source(
    store: ConnectionStore, source_ip: str | None, settings: Settings, now_ms: int
) -> None:
    """Spend one frame of the source address's budget, or raise ``rate_limited``. A request
    without a source address (only local tests send none) is not charged."""
    if source_ip is None:
        return
    key = shared_rate_key(SOURCE_FRAMES, source_digest(source_ip))
    retry_after_ms = store.admit_shared(key, source_budget(settings), now_ms)
    if retry_after_ms:
        raise _rate_limited(retry_after_ms, None, "Your network is sending too fast")


def counts_as_refusal(error: ClientError) -> bool:
    """Whether ``error`` spends one of the sender's refused frames (``COUNTED_REFUSALS``)."""
    return error.code in COUNTED_REFUSALS and not isinstance(error, RoomBusy)


def over_refusals(
    store: ConnectionStore, connection_id: ConnectionId, settings: Settings, now_ms: int
) -> bool:
    """Count one refused frame; True when the connection has spent its refusal budget (and
    should be closed rather than answered). The count is kept on an item of its own: the
    refusals of a flood arrive concurrently, and a shared counter never contends."""
    key = shared_rate_key(CONNECTION_REFUSALS, connection_id)
    return store.admit_shared(key, refusal_budget(settings), now_ms) > 0


def _rate_limited(
    retry_after_ms: int, client_id: str | None, who: str = "You are sending too fast"
) -> ClientError:
    seconds = max(1, -(-retry_after_ms // 1000))
    return ClientError(
        ErrorCode.RATE_LIMITED,
        f"{who}; please wait {seconds} s.",
        client_id=client_id,
        retry_after_ms=retry_after_ms,
    )
