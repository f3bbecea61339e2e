"""The use cases of a room: ``$disconnect``, ``sendmessage``, ``history``, ``join`` and
``members``: what reads a room, its history, or tells its members (presence notices)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..connections import Connection, ConnectionId, ConnectionStore, RoomMember
from ..delivery import BroadcastStats
from ..errors import ClientError, ErrorCode, MessageNotStored
from ..frames import (
    MESSAGE_FRAME_MAX,
    PAYLOAD_TOO_LARGE_FRAME,
    history_frame,
    members_frame,
    presence_frame,
    role_frame,
    stored_message_frame,
)
from ..ids import decode_ulid_time
from ..messages import MessageStore
from ..presence import names_gone, present_elsewhere, roster
from ..protocol import History, Join, Members, SendMessage, unknown_action
from ..stored import StoredMessage, message_owner, reactor_id
from ..wordfilter import screen
from .admission import admit, admit_message, read_budget

if TYPE_CHECKING:
    from ..broadcast import Broadcaster
    from ..config import Settings
    from .call import RouteCall

MEMBERS_LISTED_MAX: Final = 1_000
"""The most connections a room may hold and still be read whole by ``join``, ``members`` and
``$disconnect`` (as many as the direct path posts to by default,
``jobs.DEFAULT_DELIVERY_THRESHOLD``; more when ``presence_notice_max_members`` is higher): a
bigger room is too big to list, and gets no presence notices (docs/internals.md, "Big rooms")."""
MEMBERS_SAMPLE: Final = 512
"""How many connections of a room too big to list its ``members`` frame reads: about as many
names as the frame's 32 KiB hold (a name's entry takes at least 63 bytes)."""


@dataclass(frozen=True, slots=True)
class _Room:
    """What a bounded read of a room found: everyone (``count`` None), or, in a room too big
    to list, some of its connections (or none) and how many its seat counters hold."""

    present: list[RoomMember]
    count: int | None = None


def _read_room(
    store: ConnectionStore, room: str, settings: Settings, now_s: int, *, sample: bool
) -> _Room:
    """Read ``room`` within a bound that does not grow with it: a room that may hold more than
    the listing limit (its cap says so) is counted first by its seat counters (one
    ``BatchGetItem``); a room within the limit is listed whole, as it always was; a bigger one
    is counted, and listed only in part (``sample``: ``MEMBERS_SAMPLE`` connections)."""
    limit = max(MEMBERS_LISTED_MAX, settings.presence_notice_max_members)
    live: int | None = None
    if settings.room_max_members > limit:
        live = store.live_connections(room, now_s)
        if live > limit and not sample:
            return _Room([], live)
        if live > limit:
            limit = MEMBERS_SAMPLE
    listing = store.list_members(room, now_s, limit)
    if listing.complete:  # (a sample is complete when the counters held gone connections)
        return _Room(list(listing.members))
    if live is None:
        live = store.live_connections(room, now_s)
    return _Room(list(listing.members), max(live, len(listing.members)))


def disconnect(
    connection_id: ConnectionId,
    *,
    store: ConnectionStore,
    broadcaster: Broadcaster,
    settings: Settings,
    now_ms: int,
) -> BroadcastStats:
    """Forget a connection and release its seat, its counts and its name's claim (all in
    ``store.remove``); idempotent, since ``$disconnect`` may come late, twice or never.

    When it was its name's last connection in the room, the others are told it ``left``
    (not in a room too big to list: ``_read_room``). Nothing is ever posted to the connection
    itself: it is gone.
    """
    gone = store.remove(connection_id)
    if gone is None:
        return BroadcastStats()
    room = _read_room(store, gone.room, settings, now_ms // 1000, sample=False)
    if room.count is not None:
        return BroadcastStats()
    present = [m for m in room.present if m.connection_id != gone.connection_id]
    if present_elsewhere(gone.name, present, connection_id):
        return BroadcastStats()
    return _announce(
        broadcaster, settings, event="left", room=gone.room, name=gone.name, present=present
    )


def _announce(
    broadcaster: Broadcaster,
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
    return broadcaster.send(presence_frame(event, room, name, count), recipients)


def send_message(call: RouteCall) -> BroadcastStats:
    """Store a ``sendmessage`` in the room's history, then broadcast it to the room.

    Name and room come from the stored connection; whatever else the frame holds is ignored.
    The sender's copy carries its ``clientId`` (the acknowledgement); a ``clientId`` already
    used in the room stores and broadcasts nothing and sends the earlier message to the sender
    alone. Raises ``ClientError`` for a bad frame, an unknown sender, a sender over its message
    rate, an oversized message or a failed write, before anyone but the sender hears of it.
    """
    frame = call.parse()
    if not isinstance(frame, SendMessage):
        raise unknown_action()
    sender = admit_message(
        call.store, call.connection_id, call.settings, call.now_ms, frame.client_id
    )
    text, masked = screen(frame.text, call.settings, client_id=frame.client_id)
    message_id = call.new_id()
    sent_at_ms = decode_ulid_time(message_id)  # one clock reading for both id and sentAt
    message = StoredMessage(
        message_id=message_id,
        room=sender.room,
        sender=sender.name,
        text=text,
        sent_at_ms=sent_at_ms,
        expires_at_s=sent_at_ms // 1000 + call.settings.message_retention_s,
        owner=message_owner(sender.owner, sender.connection_id),
        changed_at_ms=sent_at_ms,
    )
    own_copy = stored_message_frame(message, frame.client_id)
    if len(own_copy) > MESSAGE_FRAME_MAX:  # sizes as encoded: escapes can outgrow characters
        raise ClientError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            "The message is too large to deliver; send a shorter one.",
            client_id=frame.client_id,
        )
    try:
        added = call.messages.add(message, frame.client_id, sent_at_ms // 1000)
    except MessageNotStored:
        raise ClientError(
            ErrorCode.NOT_STORED,
            "The message could not be saved, so nobody received it; please send it again.",
            client_id=frame.client_id,
        ) from None
    if added.duplicate:  # already stored and broadcast: the sender alone learns its id
        return call.broadcaster.send(
            stored_message_frame(added.message, frame.client_id), [call.connection_id]
        )
    stats = tell_room(
        call.connection_id,
        sender.room,
        stored_message_frame(message),
        store=call.store,
        broadcaster=call.broadcaster,
        settings=call.settings,
        now_ms=sent_at_ms,
        own_copy=own_copy,
    )
    return stats + BroadcastStats(filtered=int(masked))


def tell_room(
    connection_id: ConnectionId,
    room: str,
    frame: bytes,
    *,
    store: ConnectionStore,
    broadcaster: Broadcaster,
    settings: Settings,
    now_ms: int,
    own_copy: bytes | None = None,
) -> BroadcastStats:
    """Send ``frame`` to every connection of ``room``, the sender first (``own_copy`` instead,
    when given); a frame API Gateway refuses as too large is reported to the sender, and names
    whose connections were found gone are announced ``left``. With delivery jobs, one bounded
    read decides (``list_members`` of the threshold): a room it does not read whole goes to the
    workers (docs/internals.md, "Delivery jobs")."""
    members: list[RoomMember] = []
    listed: Iterable[RoomMember]
    if broadcaster.jobs is None:  # every room is direct: read it whole, page by page
        listed = store.members(room, now_ms // 1000)
    else:  # one bounded read decides: a room above the threshold goes to the workers
        listing = store.list_members(room, now_ms // 1000, broadcaster.jobs.threshold)
        if not listing.complete:
            return _through_jobs(connection_id, room, frame, broadcaster, own_copy)
        listed = listing.members
    stats = broadcaster.send(
        frame,
        _sender_first(connection_id, _recording(listed, members)),
        personal=None if own_copy is None else {connection_id: own_copy},
    )
    if stats.too_large:
        stats += broadcaster.send(PAYLOAD_TOO_LARGE_FRAME, [connection_id])
    if stats.gone:  # connections found gone by a 410: their names may have left
        left, remaining = names_gone(stats.gone, members)
        for name in left:
            stats += _announce(
                broadcaster, settings, event="left", room=room, name=name, present=remaining
            )
    return stats


def tell_callers_room(call: RouteCall, room: str, frame: bytes) -> BroadcastStats:
    """``tell_room`` on behalf of a frame route's sender, at the instant its call began."""
    return tell_room(
        call.connection_id,
        room,
        frame,
        store=call.store,
        broadcaster=call.broadcaster,
        settings=call.settings,
        now_ms=call.now_ms,
    )


def _through_jobs(
    connection_id: ConnectionId,
    room: str,
    frame: bytes,
    broadcaster: Broadcaster,
    own_copy: bytes | None,
) -> BroadcastStats:
    """A big room: send its delivery jobs (``chat.jobs``), then post the sender's own copy
    (a frame too large for API Gateway is reported to the sender, as on the direct path)."""
    assert broadcaster.jobs is not None  # noqa: S101 (the caller checked)
    broadcaster.jobs.enqueue(room, frame, connection_id)
    stats = broadcaster.send(own_copy if own_copy is not None else frame, [connection_id])
    if stats.too_large:
        stats += broadcaster.send(PAYLOAD_TOO_LARGE_FRAME, [connection_id])
    return stats


def history(call: RouteCall) -> BroadcastStats:
    """Answer a ``history`` frame with one page of the sender's own room, to the sender only.

    The room comes from the stored connection, never from the frame. One Query on the room's
    partition; the page is cut to the frame's byte budget and says whether more exists.
    """
    frame = call.parse()
    if not isinstance(frame, History):
        raise unknown_action()
    me = admit(call.store, call.connection_id, read_budget(call.settings), call.now_ms)
    page = _history_page(
        me, frame, messages=call.messages, settings=call.settings, now_ms=call.now_ms
    )
    return call.broadcaster.send(page, [call.connection_id])


def join(call: RouteCall) -> BroadcastStats:
    """Answer ``join``: the member list, then the history page asked for (with ``since``, the
    first ``changes`` page), to the sender; and tell the others the name ``joined`` unless it
    was present through another connection."""
    frame = call.parse()
    if not isinstance(frame, Join):
        raise unknown_action()
    me, room = _in_room(call.store, call.connection_id, call.settings, call.now_ms)
    present = room.present
    stats = call.broadcaster.send(
        members_frame(me.room, roster(present), room_count=room.count), [call.connection_id]
    )
    if me.moderator:  # its page shows the moderators' actions
        stats += call.broadcaster.send(role_frame(moderator=True), [call.connection_id])
    if frame.since is None:
        page = _history_page(
            me, frame.history, messages=call.messages, settings=call.settings, now_ms=call.now_ms
        )
    else:
        from .changes import changes_page  # noqa: PLC0415 (changes imports this module)

        page = changes_page(
            me,
            frame.since,
            None,
            frame.history.limit,
            messages=call.messages,
            settings=call.settings,
            now_ms=call.now_ms,
        )
    stats += call.broadcaster.send(page, [call.connection_id])
    if room.count is None and not present_elsewhere(me.name, present, call.connection_id):
        stats += _announce(
            call.broadcaster,
            call.settings,
            event="joined",
            room=me.room,
            name=me.name,
            present=present,
            besides=call.connection_id,
        )
    return stats


def members(call: RouteCall) -> BroadcastStats:
    """Answer ``members`` with the room's member list, to the sender only."""
    frame = call.parse()
    if not isinstance(frame, Members):
        raise unknown_action()
    me, room = _in_room(call.store, call.connection_id, call.settings, call.now_ms)
    frame_bytes = members_frame(me.room, roster(room.present), room_count=room.count)
    return call.broadcaster.send(frame_bytes, [call.connection_id])


def _history_page(
    me: Connection, frame: History, *, messages: MessageStore, settings: Settings, now_ms: int
) -> bytes:
    room = me.room
    read = messages.read(
        room,
        frame.direction,
        frame.cursor,
        frame.limit,
        now_s=now_ms // 1000,
        retention_s=settings.message_retention_s,
    )
    return history_frame(
        room,
        read.messages,
        more=read.more,
        direction=frame.direction,
        cursor=frame.cursor,
        read_at_ms=now_ms,
        reader=reactor_id(message_owner(me.owner, me.connection_id)),
    )


def _in_room(
    store: ConnectionStore, connection_id: ConnectionId, settings: Settings, now_ms: int
) -> tuple[Connection, _Room]:
    """The sender, admitted under the read budget, and who is present in its room (everyone,
    or some in a room too big to list), the sender among them."""
    me = admit(store, connection_id, read_budget(settings), now_ms)
    room = _read_room(store, me.room, settings, now_ms // 1000, sample=True)
    return me, _Room(_with(me, room.present), room.count)


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


def _sender_first(
    connection_id: ConnectionId, members: Iterable[ConnectionId]
) -> Iterator[ConnectionId]:
    """The sender, then every other member: the sender gets its acknowledgement even while
    the room index has not caught up with its own connection yet."""
    yield connection_id
    yield from (member for member in members if member != connection_id)
