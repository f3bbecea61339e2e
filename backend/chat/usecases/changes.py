"""The use cases ``editmessage``, ``deletemessage``, ``react``, ``typing`` and
``changes`` (the catch-up of every change, also the answer to a ``join`` with ``since``).

A change is one conditional write of the message's item (``messages``): only the owner may edit
or delete (``stored.message_owner``), and every write stamps ``changedAt`` and bumps ``rev``, so
the room gets the message's new state and a client applies each change once, by ``rev``. The
stamp is read from ``clock`` just before the write, after the budgets' own writes: a write then
lands at most one DynamoDB call (retries included) after its stamp, which is what
``messages.CHANGES_OVERLAP_MS`` covers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..connections import Connection
from ..delivery import BroadcastStats
from ..errors import ChangeRefused, ClientError, ErrorCode, MessageNotStored
from ..frames import MESSAGE_FRAME_MAX, changes_frame, stored_message_frame, typing_frame
from ..messages import CHANGES_OVERLAP_MS, MessageStore
from ..protocol import (
    Changes,
    DeleteMessage,
    EditMessage,
    React,
    Typing,
    unknown_action,
)
from ..ratelimit import Budget
from ..reactions import ReactionCaps
from ..stored import ChangesCursor, ReactionChange, StoredMessage, message_owner, reactor_id
from ..wordfilter import screen
from .admission import admit, admit_message, read_budget
from .rooms import tell_callers_room

if TYPE_CHECKING:
    from ..config import Settings
    from .call import RouteCall

# The page sends one every 3 s at most while its user writes: 20 a minute; 5 back to back
# absorb a reconnect. Its own budget, so typing never spends the message budget.
TYPING_PER_MINUTE: Final = 20
TYPING_BURST: Final = 5
TYPING_RATE_ATTRIBUTE: Final = "tatTyping"
TYPING_BUDGET: Final = Budget(TYPING_RATE_ATTRIBUTE, TYPING_PER_MINUTE, TYPING_BURST)

_REFUSALS: Final = {
    ErrorCode.NOT_FOUND: "No such message in this room (it may have expired).",
    ErrorCode.NOT_YOURS: "Only its sender may change this message.",
    ErrorCode.MESSAGE_DELETED: "This message was deleted.",
    ErrorCode.TOO_MANY_REACTIONS: "This message has as many reactions as it may hold.",
}


def _refused(refusal: ChangeRefused, message_id: str) -> ClientError:
    message = _REFUSALS.get(refusal.code, "This change is not possible.")
    return ClientError(refusal.code, message, message_id=message_id)


def _not_stored(message_id: str) -> ClientError:
    return ClientError(
        ErrorCode.NOT_STORED,
        "The change could not be saved, so nobody saw it; please try again.",
        message_id=message_id,
    )


def _audit_delete(sender: Connection, message_id: str) -> None:
    """The audit line of a moderator's delete (``usecases.moderation.audit``)."""
    from .moderation import audit  # noqa: PLC0415 (only a moderator's delete)

    audit(sender, "deletemessage", outcome="ok", message_id=message_id)


def _owner(sender: Connection) -> str:
    return message_owner(sender.owner, sender.connection_id)


def edit_message(call: RouteCall) -> BroadcastStats:
    """Replace the text of the sender's own message; the room gets its new state (the sender's
    copy is the acknowledgement). Same text rules as ``sendmessage``; spends the message
    budgets."""
    frame = call.parse()
    if not isinstance(frame, EditMessage):
        raise unknown_action()
    target = frame.message_id
    try:
        sender = admit_message(call.store, call.connection_id, call.settings, call.now_ms)
    except ClientError as error:
        raise error.targeting(target) from None
    text, masked = screen(frame.text, call.settings, message_id=target)
    # Refuse a text whose frame could not be delivered before it is stored.
    probe = StoredMessage(target, sender.room, sender.name, text, call.now_ms, 0, rev=2**31)
    if len(stored_message_frame(probe)) > MESSAGE_FRAME_MAX:
        raise ClientError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            "The message is too large to deliver; send a shorter one.",
            message_id=target,
        )
    try:
        edited = call.messages.edit(sender.room, target, _owner(sender), text, call.clock())
    except ChangeRefused as refusal:
        raise _refused(refusal, target) from None
    except MessageNotStored:
        raise _not_stored(target) from None
    stats = tell_callers_room(call, sender.room, stored_message_frame(edited))
    return stats + BroadcastStats(filtered=int(masked))


def delete_message(call: RouteCall) -> BroadcastStats:
    """Make the sender's own message a tombstone; the room gets it. Deleting a tombstone again
    answers it to the sender alone."""
    frame = call.parse()
    if not isinstance(frame, DeleteMessage):
        raise unknown_action()
    target = frame.message_id
    try:
        sender = admit_message(
            call.store, call.connection_id, call.settings, call.now_ms, speaking=False
        )
    except ClientError as error:
        raise error.targeting(target) from None
    try:
        try:
            deleted = call.messages.delete(sender.room, target, _owner(sender), call.clock())
        except ChangeRefused as refusal:
            # A moderator deletes anyone's message; its own, as its author.
            if refusal.code is not ErrorCode.NOT_YOURS or not sender.moderator:
                raise
            deleted = call.messages.delete(
                sender.room, target, _owner(sender), call.clock(), by_moderator=True
            )
            _audit_delete(sender, target)
    except ChangeRefused as refusal:
        raise _refused(refusal, target) from None
    except MessageNotStored:
        raise _not_stored(target) from None
    tombstone = stored_message_frame(deleted.message)
    if deleted.again:
        return call.broadcaster.send(tombstone, [call.connection_id])
    return tell_callers_room(call, sender.room, tombstone)


def react(call: RouteCall) -> BroadcastStats:
    """Toggle the sender's reaction; the room gets the message's new state with ``reacted``."""
    frame = call.parse()
    if not isinstance(frame, React):
        raise unknown_action()
    target = frame.message_id
    try:
        sender = admit_message(call.store, call.connection_id, call.settings, call.now_ms)
    except ClientError as error:
        raise error.targeting(target) from None
    caps = ReactionCaps(
        distinct=call.settings.reactions_max_distinct,
        per_person=call.settings.reactions_max_per_person,
        total=call.settings.reactions_max_total,
    )
    try:
        toggled = call.messages.react(
            sender.room,
            target,
            reactor_id(_owner(sender)),
            frame.emoji,
            caps=caps,
            now_ms=call.clock(),
        )
    except ChangeRefused as refusal:
        raise _refused(refusal, target) from None
    except MessageNotStored:
        raise _not_stored(target) from None
    reacted = ReactionChange(sender.name, frame.emoji, toggled.on)
    live = stored_message_frame(toggled.message, reacted=reacted)
    return tell_callers_room(call, sender.room, live)


def typing(call: RouteCall) -> BroadcastStats:
    """Tell the room's other names that the sender's name is typing: nothing stored, nothing
    to any connection of that name, nothing at all in a room of more than
    ``typing_notice_max_members`` connections. Spends the typing budget only."""
    frame = call.parse()
    if not isinstance(frame, Typing):
        raise unknown_action()
    sender = admit(call.store, call.connection_id, TYPING_BUDGET, call.now_ms)
    if sender.muted_until_s * 1000 > call.now_ms:
        # A muted member's typing is dropped, not refused: its page learnt of the mute from
        # its refused message, and refusals here would close it.
        return BroadcastStats()
    # Read one more connection than a notice allows, never the whole room.
    limit = call.settings.typing_notice_max_members
    listing = call.store.list_members(sender.room, call.now_ms // 1000, limit + 1)
    present = listing.members
    if not present or not listing.complete or len(present) > limit:
        return BroadcastStats()
    others = [m.connection_id for m in present if m.name != sender.name]
    if not others:
        return BroadcastStats()
    return call.broadcaster.send(typing_frame(sender.room, sender.name), others)


def changes(call: RouteCall) -> BroadcastStats:
    """Answer ``changes`` with one page of the sender's room's changes, to the sender only."""
    frame = call.parse()
    if not isinstance(frame, Changes):
        raise unknown_action()
    me = admit(call.store, call.connection_id, read_budget(call.settings), call.now_ms)
    page = changes_page(
        me,
        frame.since,
        frame.cursor,
        frame.limit,
        messages=call.messages,
        settings=call.settings,
        now_ms=call.now_ms,
    )
    return call.broadcaster.send(page, [call.connection_id])


def changes_page(
    me: Connection,
    since: int | None,
    cursor: ChangesCursor | None,
    limit: int,
    *,
    messages: MessageStore,
    settings: Settings,
    now_ms: int,
) -> bytes:
    """The ``changes`` frame of ``me``'s room: from ``since`` less the overlap (a write that
    landed late is still in it), or on from ``cursor``."""
    low = 0 if since is None else since - CHANGES_OVERLAP_MS
    read = messages.changes(
        me.room,
        low,
        cursor,
        limit,
        now_s=now_ms // 1000,
        retention_s=settings.message_retention_s,
    )
    return changes_frame(
        me.room,
        read.messages,
        more=read.more,
        since=since,
        read_at_ms=now_ms,
        reader=reactor_id(_owner(me)),
    )
