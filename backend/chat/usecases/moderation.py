"""The use cases ``moderate`` (an open chat's moderator sign-in), ``mute``,
``kick`` and ``ban``; and the audit line every moderation action writes.

Only a moderator's connection acts (its item says so: ``chat.sanctions``); anyone else is
refused ``not_allowed``, which spends its refusal budget. A moderator acts on a name of its own
room, never its own and never a moderator's. Every action spends the moderator's message
budget, and writes one audit line (who, what, whom, until) whatever its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Final, NoReturn, TypeVar

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as BotoClientError

from ..actions import BAN, KICK, MUTE
from ..connections import Connection, ConnectionId, ConnectionStore
from ..delivery import BroadcastStats
from ..errors import ClientError, ConnectionGone, DeliveryFailed, ErrorCode, TargetIsModerator
from ..frames import moderation_frame, role_frame
from ..moderation import Moderate, Sanction, not_allowed, parse_moderation, secret_matches
from ..names import name_key
from ..sanctions import sanction_keys
from .admission import admit, message_budget
from .rooms import tell_callers_room

if TYPE_CHECKING:
    from ..broadcast import Broadcaster
    from ..config import Settings
    from .call import RouteCall

log = logging.getLogger("chat.moderation")
_T = TypeVar("_T")

# The room's notice for each action (``seconds: 0`` lifts a mute or a ban).
_EVENTS: Final = {MUTE: ("muted", "unmuted"), BAN: ("banned", "unbanned"), KICK: ("kicked", "")}


def audit(
    moderator: Connection,
    action: str,
    *,
    outcome: str,
    target: str | None = None,
    until_s: int | None = None,
    message_id: str | None = None,
) -> None:
    """One structured log line per moderation action or refused attempt: who (name, owner
    digest, connection), what, whom (a name or a message), until when, and the outcome."""
    fields: dict[str, object] = {
        "audit": "moderation",
        "action": action,
        "outcome": outcome,
        "moderator": moderator.name,
        "moderatorOwner": moderator.owner,
        "connectionId": moderator.connection_id,
        "room": moderator.room,
    }
    if target is not None:
        fields["target"] = target
    if until_s is not None:
        fields["until"] = until_s
    if message_id is not None:
        fields["messageId"] = message_id
    log.info("moderation", extra={"fields": fields})


def moderate(call: RouteCall) -> BroadcastStats:
    """Make the sender a moderator if its secret's SHA-256 is the deployment's (an open chat
    only: with sign-in the role comes from the token); answer ``role``."""
    frame = parse_moderation(call.body, is_base64=call.is_base64)
    if not isinstance(frame, Moderate):
        raise not_allowed("Send moderate with the moderator secret.")
    me = admit(call.store, call.connection_id, message_budget(call.settings), call.now_ms)
    if call.settings.auth_mode.signed_in:
        audit(me, "moderate", outcome="signed_in")
        raise not_allowed("With sign-in, a moderator is one by their account, not a secret.")
    if not secret_matches(frame.secret, call.settings.moderator_secret_sha256):
        audit(me, "moderate", outcome="wrong_secret")
        raise not_allowed("That is not the moderator secret.")
    if not me.moderator and not _stored(partial(call.store.make_moderator, call.connection_id)):
        raise ClientError(
            ErrorCode.NOT_CONNECTED,
            "The server has no record of this connection; please reconnect.",
        )
    audit(me, "moderate", outcome="ok")
    return call.broadcaster.send(role_frame(moderator=True), [call.connection_id])


def act(call: RouteCall) -> BroadcastStats:
    """``mute``, ``kick`` or ``ban`` a name of the moderator's room (docs/protocol.md,
    "Moderation"): stamp its live connections (refused if one is a moderator's), store the
    mute or ban, tell the room, and close the connections of a kicked or banned name."""
    frame = parse_moderation(call.body, is_base64=call.is_base64)
    if not isinstance(frame, Sanction):
        raise not_allowed("moderate is not an action on a member.")
    me = admit(call.store, call.connection_id, message_budget(call.settings), call.now_ms)
    if not me.moderator:
        audit(me, frame.action, outcome="not_moderator", target=frame.name)
        raise not_allowed("Only a moderator may do that.")
    key = name_key(frame.name)
    if key == name_key(me.name):
        audit(me, frame.action, outcome="self", target=frame.name)
        raise not_allowed("A moderator cannot do that to themselves.")
    now_s = call.now_ms // 1000
    # The name's claim records who holds it: one read, whatever the room's size.
    holders = call.store.name_holders(me.room, key, now_s)
    if frame.action == KICK and not holders:
        _not_found(me, frame)
    lifting = frame.seconds == 0
    until_s = None if frame.seconds is None or lifting else now_s + frame.seconds
    # A ban silences its target until its connections are closed; a lifted mute unstamps.
    stamp = until_s if frame.action in (MUTE, BAN) and until_s else None
    if frame.action == MUTE and lifting:
        stamp = 0
    stamped = _stamp(me, frame, holders, stamp, store=call.store)
    # An expired item (its $disconnect was lost) is not in the room any more.
    present = [c for c in stamped if c.expires_at_s > now_s]
    if frame.action == KICK and not present:
        _not_found(me, frame)
    if frame.action != KICK:
        _store(me, frame, stamped, until_s, store=call.store, settings=call.settings)
    event = _EVENTS[frame.action][1 if lifting else 0]
    audit(me, frame.action, outcome="ok", target=frame.name, until_s=until_s)
    # The notice names the member as the room shows them (``BOB`` typed for ``bob`` is bob),
    # so their page knows it is about them; an absent name as the moderator wrote it.
    shown = present[0].name if present else frame.name
    stats = tell_callers_room(
        call,
        me.room,
        moderation_frame(me.room, event, shown, None if until_s is None else until_s * 1000),
    )
    if frame.action == KICK or (frame.action == BAN and not lifting):
        _close(call.broadcaster, [c.connection_id for c in stamped])
    return stats


def _not_found(me: Connection, frame: Sanction) -> NoReturn:
    """Refuse a kick of a name nobody in the room holds."""
    audit(me, frame.action, outcome="not_found", target=frame.name)
    raise ClientError(ErrorCode.NOT_FOUND, f"{frame.name} is not in this room.")


def _stamp(
    me: Connection,
    frame: Sanction,
    targets: list[ConnectionId],
    muted_until_s: int | None,
    *,
    store: ConnectionStore,
) -> list[Connection]:
    """Stamp every live connection of the target (``ConnectionStore.target``); if one is a
    moderator's, put back those already stamped and refuse ``not_allowed``."""
    stamped: list[Connection] = []
    try:
        for target in targets:
            old = _stored(partial(store.target, target, muted_until_s))
            if old is not None:
                stamped.append(old)
    except TargetIsModerator:
        for old in stamped:
            try:
                store.target(old.connection_id, old.muted_until_s)
            except (BotoClientError, BotoCoreError, TargetIsModerator):
                fields = {"connectionId": old.connection_id}
                log.warning("could not restore a mute stamp", extra={"fields": fields})
        audit(me, frame.action, outcome="target_moderator", target=frame.name)
        raise not_allowed("A moderator cannot do that to another moderator.") from None
    return stamped


def _store(
    me: Connection,
    frame: Sanction,
    stamped: list[Connection],
    until_s: int | None,
    *,
    store: ConnectionStore,
    settings: Settings,
) -> None:
    """Store the mute or ban (by name key, and by each stamped connection's user when signed
    in, or its source address in an open chat), or lift it."""
    signed_in = settings.auth_mode.signed_in
    keys = sanction_keys(
        frame.action,
        me.room,
        name_key=name_key(frame.name),
        users=[c.owner for c in stamped] if signed_in else [],
        sources=[] if signed_in else [c.source for c in stamped],
    )
    if until_s is None:
        _stored(partial(store.lift, keys[0], keys[1:]))
    else:
        record = {"by": me.name, "target": frame.name}
        _stored(partial(store.sanction, keys, until_s, record))


def _stored(call: Callable[[], _T]) -> _T:
    """Run a write of a moderation action; a DynamoDB failure becomes ``not_stored`` (the
    moderator may try again), logged with its code, never its text to the client."""
    try:
        return call()
    except BotoClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "ClientError"))
    except BotoCoreError as error:
        code = type(error).__name__
    log.warning("a moderation write failed", extra={"fields": {"error": code}})
    raise ClientError(
        ErrorCode.NOT_STORED, "The action could not be saved; please try again."
    ) from None


def _close(broadcaster: Broadcaster, connections: list[ConnectionId]) -> None:
    """Close each connection (``DeleteConnection``); one already gone is fine, one that could
    not be closed is logged (it stays muted by its stamp until its ban or mute ends)."""
    for connection_id in connections:
        try:
            broadcaster.sender.delete_connection(connection_id)
        except ConnectionGone:
            pass
        except DeliveryFailed as failure:
            log.warning(
                "could not close a kicked or banned connection",
                extra={"fields": {"connectionId": connection_id, "reason": type(failure).__name__}},
            )
