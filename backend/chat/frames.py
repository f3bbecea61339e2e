"""The server frames of ``docs/protocol.md``: the UTF-8 bytes posted to ``@connections``.

Apart from ``protocol`` (the client frames) so that answering a ``ping``, the usual first message
of a cold start, loads neither the client frames nor the text checks they use. Nothing here
does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Final

from .errors import ErrorCode
from .ids import iso_utc
from .stored import (
    DELETED_BY_AUTHOR,
    ChangesCursor,
    Direction,
    ReactionChange,
    StoredMessage,
)

if TYPE_CHECKING:
    from .presence import Member


# API Gateway accepts at most 128 KB per @connections post ("Quotas for configuring and running
# a WebSocket API"). A message frame is capped well below, so that any stored message fits in a
# history frame alone; a history frame stops taking messages at its budget, leaving 32 KiB spare.
MESSAGE_FRAME_MAX: Final = 64 * 1024
HISTORY_FRAME_BUDGET: Final = 96 * 1024
MEMBERS_FRAME_BUDGET: Final = 32 * 1024


def _encode(frame: dict[str, object]) -> bytes:
    # Compact, and UTF-8 rather than \u escapes: a frame is capped at 128 KB.
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def message_frame(
    *,
    message_id: str,
    room: str,
    sender: str,
    text: str,
    sent_at: str,
    client_id: str | None = None,
) -> bytes:
    """The ``message`` frame of a message as sent (``rev`` 1, changed when sent); the sender's
    own copy carries its ``client_id``."""
    sent_at_ms = _parse_iso_ms(sent_at)
    message = StoredMessage(message_id, room, sender, text, sent_at_ms, 0, changed_at_ms=sent_at_ms)
    return stored_message_frame(message, client_id)


def _parse_iso_ms(iso: str) -> int:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def _state(message: StoredMessage, reader: str | None = None) -> dict[str, object]:
    """A message's current state (docs/protocol.md, "Message state"): what every frame that
    carries a message holds. With a ``reader`` (a reactor id), each reaction says whether it
    is among the reactors (``mine``)."""
    state: dict[str, object] = {"id": message.message_id, "from": message.sender}
    if not message.deleted:
        state["text"] = message.text
    state["sentAt"] = iso_utc(message.sent_at_ms)
    state["rev"] = message.rev
    state["changedAt"] = message.changed_at_ms or message.sent_at_ms
    if message.edited_at_ms is not None and not message.deleted:
        state["editedAt"] = iso_utc(message.edited_at_ms)
    if message.deleted:
        state["deleted"] = True
        state["deletedBy"] = message.deleted_by or DELETED_BY_AUTHOR
    elif message.reactions:
        reactions: list[dict[str, object]] = []
        for reaction in message.reactions:
            entry: dict[str, object] = {"emoji": reaction.emoji, "count": len(reaction.reactors)}
            if reader is not None and reader in reaction.reactors:
                entry["mine"] = True
            reactions.append(entry)
        state["reactions"] = reactions
    return state


def stored_message_frame(
    message: StoredMessage,
    client_id: str | None = None,
    reacted: ReactionChange | None = None,
) -> bytes:
    """The live ``message`` frame of a stored message, as it is now: the sender's own copy of a
    new message carries its ``client_id``; a reaction's toggle says who toggled (``reacted``)."""
    state = _state(message)
    frame: dict[str, object] = {"type": "message", "id": state.pop("id"), "room": message.room}
    frame.update(state)
    if client_id is not None:
        frame["clientId"] = client_id
    if reacted is not None:
        frame["reacted"] = {"name": reacted.name, "emoji": reacted.emoji, "on": reacted.on}
    return _encode(frame)


def _history_item(message: StoredMessage, reader: str | None) -> bytes:
    return _encode(_state(message, reader))


_MORE: Final = b'],"more":true}'
_NO_MORE: Final = b'],"more":false}'


def history_frame(
    room: str,
    nearest_first: Iterable[StoredMessage],
    *,
    more: bool,
    direction: Direction,
    cursor: str | None,
    read_at_ms: int | None = None,
    reader: str | None = None,
    budget: int = HISTORY_FRAME_BUDGET,
) -> bytes:
    """The ``history`` frame: messages oldest first, at most ``budget`` bytes encoded.

    ``nearest_first`` is in reading order (nearest the cursor first: newest first unless
    ``direction`` is ``AFTER``); messages are taken while the frame stays within ``budget``,
    the first always (a message frame is at most ``MESSAGE_FRAME_MAX``), and a cut page says
    ``more``. The frame is assembled from separately encoded items so its size is known exactly
    before it is built. ``read_at_ms`` (the read's time) becomes ``readAt``; ``reader`` marks
    the reactions that are the reader's own (``mine``).
    """
    head: dict[str, object] = {"type": "history", "room": room}
    if cursor is not None:
        head[direction.value] = cursor
    if read_at_ms is not None:
        head["readAt"] = read_at_ms
    prefix = _encode(head)[:-1] + b',"messages":['
    size = len(prefix) + len(_NO_MORE)
    items: list[bytes] = []
    for message in nearest_first:
        item = _history_item(message, reader)
        grown = size + len(item) + (1 if items else 0)
        if items and grown > budget:
            more = True
            break
        items.append(item)
        size = grown
    if direction is not Direction.AFTER:
        items.reverse()
    return prefix + b",".join(items) + (_MORE if more else _NO_MORE)


# What the tail of a changes frame may take at most: ``],"more":true,"cursor":"…"}`` with the
# longest cursor (64 characters).
_CHANGES_TAIL_MAX: Final = 100


def changes_frame(
    room: str,
    messages: Iterable[StoredMessage],
    *,
    more: bool,
    since: int | None,
    read_at_ms: int,
    reader: str | None,
    budget: int = HISTORY_FRAME_BUDGET,
) -> bytes:
    """The ``changes`` frame: messages in change order (as read), at most ``budget`` bytes.

    Messages are taken while the frame stays within ``budget`` (the first always); a page cut
    by the budget says ``more``, and a page with ``more`` carries the ``cursor`` of its last
    message, where the next read goes on.
    """
    head: dict[str, object] = {"type": "changes", "room": room}
    if since is not None:
        head["since"] = since
    head["readAt"] = read_at_ms
    prefix = _encode(head)[:-1] + b',"messages":['
    size = len(prefix) + _CHANGES_TAIL_MAX
    items: list[bytes] = []
    last: StoredMessage | None = None
    for message in messages:
        item = _history_item(message, reader)
        grown = size + len(item) + (1 if items else 0)
        if items and grown > budget:
            more = True
            break
        items.append(item)
        last, size = message, grown
    tail: dict[str, object] = {"more": more and last is not None}
    if more and last is not None:
        tail["cursor"] = ChangesCursor(last.changed_at_ms, last.message_id).encode()
    return prefix + b",".join(items) + b"]," + _encode(tail)[1:]


def typing_frame(room: str, name: str) -> bytes:
    """The ``typing`` notice: ``name`` is writing in ``room``."""
    return _encode({"type": "typing", "room": room, "name": name})


def pong_frame() -> bytes:
    """The reply to ``ping``."""
    return _encode({"type": "pong"})


def _member_item(member: Member) -> bytes:
    return _encode(
        {"name": member.name, "since": iso_utc(member.since_ms), "connections": member.connections}
    )


def members_frame(
    room: str,
    members: list[Member],
    budget: int = MEMBERS_FRAME_BUDGET,
    *,
    room_count: int | None = None,
) -> bytes:
    """The ``members`` frame: every name while the frame stays within ``budget`` bytes.
    ``room_count``: the names are only some of a room too big to list, which holds that many
    connections (docs/protocol.md, ``members``): ``count`` says so and ``complete`` is false."""
    count = len(members) if room_count is None else room_count
    prefix = _encode({"type": "members", "room": room, "count": count})[:-1]
    opening = b',"members":['
    closing_length = len(b'],"complete":false}')
    size = len(prefix) + len(opening) + closing_length
    items: list[bytes] = []
    for member in members:
        item = _member_item(member)
        grown = size + len(item) + (1 if items else 0)
        if grown > budget:
            break
        items.append(item)
        size = grown
    complete = b"true" if room_count is None and len(items) == len(members) else b"false"
    return prefix + opening + b",".join(items) + b'],"complete":' + complete + b"}"


def presence_frame(event: str, room: str, name: str, count: int) -> bytes:
    """A ``presence`` frame: ``event`` is ``joined`` or ``left``; ``count`` names remain."""
    return _encode({"type": "presence", "event": event, "room": room, "name": name, "count": count})


def role_frame(*, moderator: bool) -> bytes:
    """The ``role`` frame: whether this connection may moderate its room."""
    return _encode({"type": "role", "moderator": moderator})


def moderation_frame(room: str, event: str, name: str, until_ms: int | None = None) -> bytes:
    """A ``moderation`` notice to the room: ``name`` was ``muted``, ``unmuted``, ``kicked``,
    ``banned`` or ``unbanned`` (``until``: when a mute or ban ends)."""
    frame: dict[str, object] = {"type": "moderation", "room": room, "event": event, "name": name}
    if until_ms is not None:
        frame["until"] = iso_utc(until_ms)
    return _encode(frame)


def error_frame(
    code: ErrorCode,
    message: str,
    client_id: str | None = None,
    retry_after_ms: int | None = None,
    message_id: str | None = None,
    *,
    until: str | None = None,
) -> bytes:
    """An ``error`` frame; ``message`` is a human sentence without internals; ``client_id``
    names the ``sendmessage`` it concerns, ``message_id`` the message a change targets;
    ``retry_after_ms`` says when to try again, ``until`` when a mute ends."""
    frame: dict[str, object] = {"type": "error", "code": str(code), "message": message}
    if retry_after_ms is not None:
        frame["retryAfterMs"] = retry_after_ms
    if client_id is not None:
        frame["clientId"] = client_id
    if message_id is not None:
        frame["id"] = message_id
    if until is not None:
        frame["until"] = until
    return _encode(frame)


INTERNAL_ERROR_FRAME: Final = error_frame(
    ErrorCode.INTERNAL_ERROR, "Something went wrong on the server; please try again."
)
PAYLOAD_TOO_LARGE_FRAME: Final = error_frame(
    ErrorCode.PAYLOAD_TOO_LARGE, "The message is too large to deliver; send a shorter one."
)
