"""The client's actions: the ``action`` of a frame, and the route key API Gateway selects for it
(``$request.body.action``).

Apart from ``protocol`` because the handler routes by them on every event, ``$connect``
included, while only the routes that read or write frames need the frames themselves: a cold
start's ``$connect`` does not load them (``docs/performance.md``, "Cold start").
"""

from __future__ import annotations

from typing import Final

SENDMESSAGE: Final = "sendmessage"
HISTORY: Final = "history"
JOIN: Final = "join"
MEMBERS: Final = "members"
PING: Final = "ping"
EDITMESSAGE: Final = "editmessage"
DELETEMESSAGE: Final = "deletemessage"
REACT: Final = "react"
TYPING: Final = "typing"
CHANGES: Final = "changes"
# Moderation: an open chat's moderator sign-in, and the moderators' actions.
MODERATE: Final = "moderate"
MUTE: Final = "mute"
KICK: Final = "kick"
BAN: Final = "ban"
MODERATION_ACTIONS: Final = frozenset({MODERATE, MUTE, KICK, BAN})
ACTIONS: Final = (
    frozenset(
        {
            SENDMESSAGE,
            HISTORY,
            JOIN,
            MEMBERS,
            PING,
            EDITMESSAGE,
            DELETEMESSAGE,
            REACT,
            TYPING,
            CHANGES,
        }
    )
    | MODERATION_ACTIONS
)
