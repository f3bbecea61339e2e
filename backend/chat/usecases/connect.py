"""``$connect``: admit a new connection to its room, or refuse its handshake.

Nothing here posts (API Gateway answers 410 to a post during ``$connect``) or touches the rooms'
messages, so a cold start whose first event is a ``$connect`` loads neither the fan-out nor
the protocol's frames (``docs/performance.md``, "Cold start").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..config import normalize_origin
from ..connections import Caps, Connection, ConnectionId, ConnectionStore, Refusal, Sanctions
from ..errors import HandshakeRefused
from ..names import name_key
from ..sanctions import BAN, MUTE, sanction_keys
from ..sources import source_digest
from ..validation import DEFAULT_ROOM, clean_name, clean_profile_name, clean_room

if TYPE_CHECKING:
    from ..config import Settings


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
    connection rate or a source or user holding its share of live connections, 409 for a name
    held in the room by someone who cannot prove to be the same person, 503 when concurrent
    connects kept conflicting (docs/protocol.md, "Connecting").

    The room is never read: one transaction (``ConnectionStore.enter``) takes a seat, counts
    the connection against its source and user, and claims its name, or refuses.

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
    source = ""
    if source_ip:
        source = source_digest(source_ip)
        _within_connect_rate(store, settings, source, now_ms)
    caps = Caps(
        room=settings.room_max_members,
        per_room=min(settings.live_connections_per_room, max(1, settings.room_max_members // 4)),
        total=settings.live_connections_total,
    )
    # A generated name must never be refused as taken: on a failed claim, the next suffix.
    base = guest_name() if name is None else name
    refusal = Refusal.NAME_TAKEN
    for attempt in range(GUEST_NAME_ATTEMPTS if name is None else 1):
        connection = Connection(
            connection_id=connection_id,
            room=room,
            name=base if attempt == 0 else f"{base}-{attempt + 1}",
            connected_at_ms=now_ms,
            expires_at_s=now_ms // 1000 + settings.connection_ttl_seconds,
            owner=owner,
            moderator=signed_in is not None
            and signed_in.moderator
            and settings.auth_mode.signed_in,
            source=source,
        )
        entered = store.enter(
            connection,
            name_key=name_key(connection.name),
            source=source,
            # A signed-in user's owner digest is the user's: one per user, whatever the name.
            user=owner if settings.auth_mode.signed_in else "",
            caps=caps,
            now_s=now_ms // 1000,
            sanctions=_sanctions(connection, settings, source),
        )
        if entered is None:
            return connection
        refusal = entered
        if refusal is not Refusal.NAME_TAKEN:
            break
    raise HandshakeRefused(REFUSAL_STATUS[refusal], refusal.value)


def _sanctions(connection: Connection, settings: Settings, source: str) -> Sanctions:
    """The bans and mutes a new connection is checked against: of its name, and
    of its user when signed in, or of its source address in an open chat."""
    signed_in = settings.auth_mode.signed_in
    users = [connection.owner] if signed_in else []
    sources = [] if signed_in else [source]
    key = name_key(connection.name)
    return Sanctions(
        bans=tuple(sanction_keys(BAN, connection.room, name_key=key, users=users, sources=sources)),
        mutes=tuple(
            sanction_keys(MUTE, connection.room, name_key=key, users=users, sources=sources)
        ),
    )


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who the ``$connect`` authorizer says the user is: the issuer's user id and the display
    name it chose (``requestContext.authorizer``'s ``userId`` and ``name``)."""

    user_id: str
    name: str
    moderator: bool = False
    """The authorizer's ``moderator``: the token's group or claim."""


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


# A guest name's suffixes tried after a failed claim (-2, -3, ...): with 65,536 bases, a
# room would need the base and all of these held to refuse a guest.
GUEST_NAME_ATTEMPTS: Final = 8
REFUSAL_STATUS: Final = {
    Refusal.BANNED: 403,
    Refusal.ROOM_FULL: 403,
    Refusal.TOO_MANY_CONNECTIONS: 429,
    Refusal.NAME_TAKEN: 409,
    Refusal.BUSY: 503,
}
"""The handshake's status for each refusal (docs/protocol.md, "Connecting")."""


def owner_digest(key: str) -> str:
    """What is stored for a presented key: anyone reading the table cannot present it."""
    return hashlib.sha256(b"awsome-chat name key\0" + key.encode()).hexdigest()[:32]


def user_owner_digest(user_id: str) -> str:
    """What is stored for a signed-in user: every connection of theirs holds their name, and
    nobody else's can. Another prefix than ``owner_digest``'s, so that no presented key can
    ever be taken for a user."""
    return hashlib.sha256(b"awsome-chat user id\0" + user_id.encode()).hexdigest()[:32]


def _within_connect_rate(
    store: ConnectionStore, settings: Settings, source: str, now_ms: int
) -> None:
    """Count this attempt for its source address (``source``, a digest); refuse with 429 past
    the per-minute limit. The counter lives for the window (plus TTL's lateness)."""
    window = now_ms // 1000 // CONNECT_WINDOW_S * CONNECT_WINDOW_S
    count = store.count_connect(source, window, window + 2 * CONNECT_WINDOW_S)
    if count > settings.connect_rate_limit_per_minute:
        raise HandshakeRefused(429, "too_many_connects")
