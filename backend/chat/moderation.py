"""The moderation frames of ``docs/protocol.md``: ``moderate``, ``mute``, ``kick``,
``ban``, parsed and checked, and the rules that need no I/O (who may moderate, how long a
sanction may last). The use cases are ``usecases.moderation``'s."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from .actions import BAN, KICK, MODERATE, MUTE
from .errors import ClientError, ErrorCode
from .names import MAX_NAME_CHARS
from .protocol import parse_object, unknown_action

# A mute or a ban lasts from a minute to a week (``seconds``); 0 lifts it.
MIN_SANCTION_SECONDS: Final = 60
MAX_SANCTION_SECONDS: Final = 7 * 24 * 60 * 60
# A target's name as shown (a signed-in name may carry a tag): generous, compared by key.
MAX_TARGET_CHARS: Final = 2 * MAX_NAME_CHARS
MAX_SECRET_CHARS: Final = 256


@dataclass(frozen=True, slots=True)
class Moderate:
    """``{"action": "moderate", "secret": ...}``: an open chat's moderator sign-in."""

    secret: str


@dataclass(frozen=True, slots=True)
class Sanction:
    """``mute``, ``kick`` or ``ban`` of ``name`` (``seconds``: 0 lifts; ``None`` for kick)."""

    action: str
    name: str
    seconds: int | None = None


def parse_moderation(body: str | None, *, is_base64: bool = False) -> Moderate | Sanction:
    """Parse a moderation frame; raise ``ClientError`` (``invalid_field`` and the like)."""
    frame = parse_object(body, is_base64=is_base64)
    action = frame.get("action")
    if action == MODERATE:
        secret = frame.get("secret")
        if not isinstance(secret, str) or not 1 <= len(secret) <= MAX_SECRET_CHARS:
            raise _invalid(f"secret must be a string of 1 to {MAX_SECRET_CHARS} characters.")
        return Moderate(secret)
    if action not in (MUTE, KICK, BAN):
        raise unknown_action()
    name = frame.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TARGET_CHARS:
        raise _invalid(f"name must be a member's name (1 to {MAX_TARGET_CHARS} characters).")
    if action == KICK:
        return Sanction(KICK, name.strip())
    seconds = frame.get("seconds")
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not (seconds == 0 or MIN_SANCTION_SECONDS <= seconds <= MAX_SANCTION_SECONDS)
    ):
        raise _invalid(
            f"seconds must be 0 (lift) or from {MIN_SANCTION_SECONDS} to {MAX_SANCTION_SECONDS}."
        )
    return Sanction(str(action), name.strip(), seconds)


def secret_matches(secret: str, configured_sha256: str) -> bool:
    """Whether ``secret``'s SHA-256 is the configured one, compared in constant time; never
    with no secret configured."""
    if not configured_sha256:
        return False
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    return hmac.compare_digest(digest, configured_sha256)


def not_allowed(message: str) -> ClientError:
    """The refusal of a moderation action the sender may not take."""
    return ClientError(ErrorCode.NOT_ALLOWED, message)


def _invalid(message: str) -> ClientError:
    return ClientError(ErrorCode.INVALID_FIELD, message)
