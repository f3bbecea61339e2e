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
from ..connections import Connection, ConnectionId, ConnectionStore, RoomMember
from ..errors import HandshakeRefused
from ..names import name_key
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
