"""The chat's use cases: plain functions that take their collaborators as arguments.

They know nothing of Lambda events or boto3: the handler extracts what they need, and the tests
pass small fakes for the store and the sender.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn

from .broadcast import DEFAULT_POLICY, BroadcastStats, RetryPolicy, broadcast
from .config import Settings, normalize_origin
from .connections import (
    MESSAGES_RATE_ATTRIBUTE,
    PINGS_RATE_ATTRIBUTE,
    READS_RATE_ATTRIBUTE,
    Connection,
    ConnectionId,
    ConnectionStore,
    RoomMember,
)
from .errors import ClientError, ErrorCode, HandshakeRefused, MessageNotStored
from .ids import decode_ulid_time
from .messages import MessageStore, StoredMessage
from .names import name_key
from .presence import names_gone, present_elsewhere, roster
from .protocol import (
    MESSAGE_FRAME_MAX,
    PAYLOAD_TOO_LARGE_FRAME,
    History,
    Join,
    Members,
    SendMessage,
    error_frame,
    history_frame,
    members_frame,
    parse_frame,
    parse_object,
    pong_frame,
    presence_frame,
    stored_message_frame,
    unknown_action,
)
from .ratelimit import Budget
from .validation import DEFAULT_ROOM, clean_name, clean_profile_name, clean_room

if TYPE_CHECKING:  # only a type here; $connect never loads gateway (see runtime)
    from .gateway import Sender


@dataclass(frozen=True, slots=True)
class Outbox:
    """Where frames go: a sender, the store to prune from, and the fan-out's limits."""

    sender: Sender
    store: ConnectionStore
    concurrency: int
    policy: RetryPolicy = DEFAULT_POLICY
    remaining_ms: Callable[[], int] | None = None

    def send(
        self,
        payload: bytes,
        recipients: Iterable[ConnectionId],
        personal: Mapping[ConnectionId, bytes] | None = None,
    ) -> BroadcastStats:
        """Deliver ``payload`` to ``recipients`` (``personal`` bytes to some) via ``broadcast``."""
        return broadcast(
            payload,
            recipients,
            self.sender,
            self.store,
            concurrency=self.concurrency,
            policy=self.policy,
            remaining_ms=self.remaining_ms,
            personal=personal,
        )


def connect(
    connection_id: ConnectionId,
    query: Mapping[str, str],
    origin: str | None,
    *,
    store: ConnectionStore,
    settings: Settings,
    now_ms: int,
    guest_name: Callable[[], str],
    source_ip: str | None = None,
    signed_in: SignedIn | None = None,
) -> Connection:
    """Admit a new connection and store it; raise ``HandshakeRefused`` otherwise: 403 for a
    foreign origin or a full room, 400 for a bad name, room or key, 429 for a source over its
    connection rate, 409 for a name held in the room by someone who cannot prove to be the same
    person (docs/protocol.md, "Connecting").

    With sign-in on (``settings.auth_mode``), the name and its owner come from ``signed_in``,
    what the authorizer vouched for; ``name`` and ``key`` in the query are ignored, and a
    connection without ``signed_in`` is refused with 401 (docs/protocol.md, "Signing in").

    Never posts to the connection: during ``$connect`` API Gateway answers such a post with 410.
    """
    # Browsers always send Origin; other clients need not, and the allowlist is for browsers.
    if (
        origin is not None
        and settings.allowed_origins
        and normalize_origin(origin) not in settings.allowed_origins
    ):
        raise HandshakeRefused(403, "origin_not_allowed")
    name: str | None
    if settings.auth_mode.signed_in:
        name, room, owner = _signed_in_identity(query, signed_in)
    else:
        name, room, owner = _chosen_identity(query)
    if source_ip:
        _within_connect_rate(store, settings, source_ip, now_ms)
    present = list(store.members(room, now_ms // 1000))
    if len(present) >= settings.room_max_members:
        raise HandshakeRefused(403, "room_full")
    if name is None:  # a generated name must never be refused as taken: make it free
        name = _free_guest_name(guest_name(), present)
    key = name_key(name)
    holders = [m for m in present if name_key(m.name) == key]
    # The same person (the same key) may always come back: a connection of theirs that API
    # Gateway has not noticed is dead yet cannot lock them out. Without a key, nobody can.
    if holders and (not owner or any(m.owner != owner for m in holders)):
        raise HandshakeRefused(409, "name_taken")
    connection = Connection(
        connection_id=connection_id,
        room=room,
        name=name,
        connected_at_ms=now_ms,
        expires_at_s=now_ms // 1000 + settings.connection_ttl_seconds,
        owner=owner,
    )
    store.put(connection)
    return connection


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who the ``$connect`` authorizer says the user is: the issuer's user id and the display
    name it chose (``requestContext.authorizer``'s ``userId`` and ``name``)."""

    user_id: str
    name: str


def _chosen_identity(query: Mapping[str, str]) -> tuple[str | None, str, str]:
    """The name (``None``: a guest's), room and owner digest a connection asks for."""
    raw_name = query.get("name")
    name = None if raw_name is None else clean_name(raw_name)
    if raw_name is not None and name is None:
        raise HandshakeRefused(400, "invalid_name")
    room = _room(query)
    raw_key = query.get("key")
    if raw_key is not None and not NAME_KEY.fullmatch(raw_key):
        raise HandshakeRefused(400, "invalid_key")
    owner = "" if raw_key is None else owner_digest(raw_key)
    return name, room, owner


def _signed_in_identity(
    query: Mapping[str, str], signed_in: SignedIn | None
) -> tuple[str, str, str]:
    """The signed-in user's name, the room asked for, and the user's owner digest."""
    # The authorizer refuses a $connect without a valid token; a request that still arrives
    # without its context bypassed it (a misconfigured route), and is refused here too.
    if signed_in is None or not signed_in.user_id or not signed_in.name:
        raise HandshakeRefused(401, "not_signed_in")
    name = clean_profile_name(signed_in.name)
    if name is None:
        raise HandshakeRefused(400, "invalid_name")
    return name, _room(query), user_owner_digest(signed_in.user_id)


def _room(query: Mapping[str, str]) -> str:
    raw_room = query.get("room")
    room = DEFAULT_ROOM if raw_room is None else clean_room(raw_room)
    if room is None:
        raise HandshakeRefused(400, "invalid_room")
    return room


# What a page presents to hold its name: a value derived from a random secret it keeps
# (base64url, at least 128 bits). Only a digest of it is stored.
NAME_KEY: Final = re.compile(r"[A-Za-z0-9_-]{22,128}")
CONNECT_WINDOW_S: Final = 60


def _free_guest_name(base: str, present: list[RoomMember]) -> str:
    taken = {name_key(m.name) for m in present}
    name, n = base, 1
    while name_key(name) in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def owner_digest(key: str) -> str:
    """What is stored for a presented key: anyone reading the table cannot present it."""
    return hashlib.sha256(b"awsome-chat name key\0" + key.encode()).hexdigest()[:32]


def user_owner_digest(user_id: str) -> str:
    """What is stored for a signed-in user: every connection of theirs holds their name, and
    nobody else's can. Another prefix than ``owner_digest``'s, so that no presented key can
    ever be taken for a user."""
    return hashlib.sha256(b"awsome-chat user id\0" + user_id.encode()).hexdigest()[:32]


def _within_connect_rate(
    store: ConnectionStore, settings: Settings, source_ip: str, now_ms: int
) -> None:
    """Count this attempt for its source address; refuse with 429 past the per-minute limit.

    The address is kept as a digest, and only for the window (plus TTL's lateness).
    """
    window = now_ms // 1000 // CONNECT_WINDOW_S * CONNECT_WINDOW_S
    source = hashlib.sha256(source_ip.encode()).hexdigest()[:24]
    count = store.count_connect(source, window, window + 2 * CONNECT_WINDOW_S)
    if count > settings.connect_rate_limit_per_minute:
        raise HandshakeRefused(429, "too_many_connects")


def disconnect(
    connection_id: ConnectionId,
    *,
    store: ConnectionStore,
    outbox: Outbox,
    settings: Settings,
    now_ms: int,
) -> BroadcastStats:
    """Forget a connection; idempotent, since ``$disconnect`` may come late, twice or never.

    When it was its name's last connection in the room, the others are told it ``left``.
    Nothing is ever posted to the connection itself: it is gone.
    """
    gone = store.remove(connection_id)
    if gone is None:
        return BroadcastStats()
    present = [
        m for m in store.members(gone.room, now_ms // 1000) if m.connection_id != gone.connection_id
    ]
    if present_elsewhere(gone.name, present, connection_id):
        return BroadcastStats()
    return _announce(
        outbox, settings, event="left", room=gone.room, name=gone.name, present=present
    )


def _announce(
    outbox: Outbox,
    settings: Settings,
    *,
    event: str,
    room: str,
    name: str,
    present: list[RoomMember],
    besides: ConnectionId | None = None,
) -> BroadcastStats:
    """Tell the room's ``present`` connections (but ``besides``) that ``name`` ``event``;
    nothing in a room larger than the notice limit, where each notice would cost too much."""
    count = len(roster(present))
    if count > settings.presence_notice_max_members:
        return BroadcastStats()
    recipients = [m.connection_id for m in present if m.connection_id != besides]
    return outbox.send(presence_frame(event, room, name, count), recipients)


def send_message(
    connection_id: ConnectionId,
    body: str | None,
    *,
    is_base64: bool = False,
    store: ConnectionStore,
    messages: MessageStore,
    outbox: Outbox,
    settings: Settings,
    new_id: Callable[[], str],
    now_ms: int,
) -> BroadcastStats:
    """Store a ``sendmessage`` in the room's history, then broadcast it to the room.

    Name and room come from the stored connection; whatever else the frame holds is ignored.
    The sender's copy carries its ``clientId`` (the acknowledgement); a ``clientId`` already
    used in the room stores and broadcasts nothing and sends the earlier message to the sender
    alone. Raises ``ClientError`` for a bad frame, an unknown sender, a sender over its message
    rate, an oversized message or a failed write, before anyone but the sender hears of it.
    """
    frame = parse_frame(body, max_chars=settings.max_message_chars, is_base64=is_base64)
    if not isinstance(frame, SendMessage):
        raise unknown_action()
    sender = _admit(store, connection_id, _messages(settings), now_ms, frame.client_id)
    message_id = new_id()
    sent_at_ms = decode_ulid_time(message_id)  # one clock reading for both id and sentAt
    message = StoredMessage(
        message_id=message_id,
        room=sender.room,
        sender=sender.name,
        text=frame.text,
        sent_at_ms=sent_at_ms,
        expires_at_s=sent_at_ms // 1000 + settings.message_retention_s,
    )
    own_copy = stored_message_frame(message, frame.client_id)
    if len(own_copy) > MESSAGE_FRAME_MAX:  # sizes as encoded: escapes can outgrow characters
        raise ClientError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            "The message is too large to deliver; send a shorter one.",
            client_id=frame.client_id,
        )
    try:
        added = messages.add(message, frame.client_id, sent_at_ms // 1000)
    except MessageNotStored:
        raise ClientError(
            ErrorCode.NOT_STORED,
            "The message could not be saved, so nobody received it; please send it again.",
            client_id=frame.client_id,
        ) from None
    if added.duplicate:  # already stored and broadcast: the sender alone learns its id
        return outbox.send(stored_message_frame(added.message, frame.client_id), [connection_id])
    members: list[RoomMember] = []
    stats = outbox.send(
        stored_message_frame(message),
        _sender_first(
            connection_id, _recording(store.members(sender.room, sent_at_ms // 1000), members)
        ),
        personal={connection_id: own_copy},
    )
    if stats.too_large:
        stats += outbox.send(PAYLOAD_TOO_LARGE_FRAME, [connection_id])
    if stats.gone:  # connections found gone by a 410: their names may have left
        left, remaining = names_gone(stats.gone, members)
        for name in left:
            stats += _announce(
                outbox, settings, event="left", room=sender.room, name=name, present=remaining
            )
    return stats


def history(
    connection_id: ConnectionId,
    body: str | None,
    *,
    is_base64: bool = False,
    store: ConnectionStore,
    messages: MessageStore,
    outbox: Outbox,
    settings: Settings,
    now_ms: int,
) -> BroadcastStats:
    """Answer a ``history`` frame with one page of the sender's own room, to the sender only.

    The room comes from the stored connection, never from the frame. One Query on the room's
    partition; the page is cut to the frame's byte budget and says whether more exists.
    """
    frame = parse_frame(body, max_chars=settings.max_message_chars, is_base64=is_base64)
    if not isinstance(frame, History):
        raise unknown_action()
    room = _admit(store, connection_id, _reads(settings), now_ms).room
    page = _history_page(room, frame, messages=messages, settings=settings, now_ms=now_ms)
    return outbox.send(page, [connection_id])


def join(
    connection_id: ConnectionId,
    body: str | None,
    *,
    is_base64: bool = False,
    store: ConnectionStore,
    messages: MessageStore,
    outbox: Outbox,
    settings: Settings,
    now_ms: int,
) -> BroadcastStats:
    """Answer ``join``: the member list, then the history page asked for, to the sender; and
    tell the others the name ``joined`` unless it was present through another connection."""
    frame = parse_frame(body, max_chars=settings.max_message_chars, is_base64=is_base64)
    if not isinstance(frame, Join):
        raise unknown_action()
    me, present = _in_room(store, connection_id, settings, now_ms)
    stats = outbox.send(members_frame(me.room, roster(present)), [connection_id])
    page = _history_page(
        me.room, frame.history, messages=messages, settings=settings, now_ms=now_ms
    )
    stats += outbox.send(page, [connection_id])
    if not present_elsewhere(me.name, present, connection_id):
        stats += _announce(
            outbox,
            settings,
            event="joined",
            room=me.room,
            name=me.name,
            present=present,
            besides=connection_id,
        )
    return stats


def members(
    connection_id: ConnectionId,
    body: str | None,
    *,
    is_base64: bool = False,
    store: ConnectionStore,
    outbox: Outbox,
    settings: Settings,
    now_ms: int,
) -> BroadcastStats:
    """Answer ``members`` with the room's member list, to the sender only."""
    frame = parse_frame(body, max_chars=settings.max_message_chars, is_base64=is_base64)
    if not isinstance(frame, Members):
        raise unknown_action()
    me, present = _in_room(store, connection_id, settings, now_ms)
    return outbox.send(members_frame(me.room, roster(present)), [connection_id])


def _history_page(
    room: str, frame: History, *, messages: MessageStore, settings: Settings, now_ms: int
) -> bytes:
    read = messages.read(
        room,
        frame.direction,
        frame.cursor,
        frame.limit,
        now_s=now_ms // 1000,
        retention_s=settings.message_retention_s,
    )
    return history_frame(
        room, read.messages, more=read.more, direction=frame.direction, cursor=frame.cursor
    )


def _in_room(
    store: ConnectionStore, connection_id: ConnectionId, settings: Settings, now_ms: int
) -> tuple[Connection, list[RoomMember]]:
    """The sender, admitted under the read budget, and everyone present in its room."""
    me = _admit(store, connection_id, _reads(settings), now_ms)
    return me, _with(me, list(store.members(me.room, now_ms // 1000)))


def _with(me: Connection, present: list[RoomMember]) -> list[RoomMember]:
    """``present`` including ``me``: the room index may not list a new connection yet."""
    if any(m.connection_id == me.connection_id for m in present):
        return present
    return [*present, RoomMember(me.connection_id, me.name, me.connected_at_ms)]


def _recording(members: Iterable[RoomMember], into: list[RoomMember]) -> Iterator[ConnectionId]:
    """The members' ids, lazily, keeping each member in ``into`` as it passes."""
    for member in members:
        into.append(member)
        yield member.connection_id


# A ping every 5 minutes keeps the page's socket alive; this leaves room for far more.
PINGS_PER_MINUTE: Final = 30
PING_BURST: Final = 10


def _messages(settings: Settings) -> Budget:
    return Budget(
        MESSAGES_RATE_ATTRIBUTE,
        settings.rate_limit_messages_per_minute,
        settings.rate_limit_message_burst,
    )


def _reads(settings: Settings) -> Budget:
    return Budget(
        READS_RATE_ATTRIBUTE, settings.rate_limit_reads_per_minute, settings.rate_limit_read_burst
    )


_PINGS: Final = Budget(PINGS_RATE_ATTRIBUTE, PINGS_PER_MINUTE, PING_BURST)


def _admit(
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


def _sender_first(
    connection_id: ConnectionId, members: Iterable[ConnectionId]
) -> Iterator[ConnectionId]:
    """The sender, then every other member: the sender gets its acknowledgement even while
    the room index has not caught up with its own connection yet."""
    yield connection_id
    yield from (member for member in members if member != connection_id)


def ping(
    connection_id: ConnectionId, *, store: ConnectionStore, outbox: Outbox, now_ms: int
) -> BroadcastStats:
    """Answer ``pong`` to the sender only (within the ping budget)."""
    _admit(store, connection_id, _PINGS, now_ms)
    return outbox.send(pong_frame(), [connection_id])


def reject_default(body: str | None, *, is_base64: bool = False) -> NoReturn:
    """The ``$default`` route: every frame that reaches it is an error for its sender."""
    parse_object(body, is_base64=is_base64)  # raises invalid_json / invalid_frame
    raise unknown_action()


def reply_error(
    connection_id: ConnectionId, error: ClientError, *, outbox: Outbox
) -> BroadcastStats:
    """Send ``error`` to the offending connection only."""
    frame = error_frame(error.code, error.message, error.client_id, error.retry_after_ms)
    return outbox.send(frame, [connection_id])
