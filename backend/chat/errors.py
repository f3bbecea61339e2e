"""Every exception the chat raises on purpose, in one place.

::

    ChatError                      base of everything below (``ErrorCode`` lists the wire codes)
    ├── ClientError(code, message, client_id, retry_after_ms, message_id, until)
    │   │                          a bad client frame; answered with an ``error`` frame
    │   └── RoomBusy               ``rate_limited`` by the room's budget, which others spend
    │                              too: not counted against the sender's refused frames
    ├── HandshakeRefused(status, reason)
    │                              ``$connect`` refused (400, 401, 403, 409, 429); ``reason``
    │                              goes to the log
    ├── ConfigurationError         the deployment is wrong (environment, IAM); fix it, not the code
    ├── InvalidEvent               the Lambda event is not an API Gateway WebSocket event
    ├── StoreError                 a table holds something we cannot read
    ├── MessageNotStored(reason)   the messages table refused or could not be reached; the
    │                              sender gets ``not_stored`` and nobody sees the message
    │                              (or the change: edit, delete, reaction)
    ├── ChangeRefused(code)        a change's condition failed: ``not_found``, ``not_yours``,
    │                              ``message_deleted`` or ``too_many_reactions``
    ├── TargetIsModerator          a moderator's action aimed at a moderator (``not_allowed``)
    └── DeliveryFailed             one post to one connection failed, not retryable
        ├── ConnectionGone         410: the peer left; prune its item and carry on
        ├── PayloadTooLarge        413: API Gateway refused the frame's size; tell the sender
        ├── DeliveryForbidden      403: the Lambda may not post (IAM/endpoint); also a
        │                          ConfigurationError, never a reason to prune
        └── RetryableDeliveryError 429/5xx/timeouts: worth another jittered attempt

Only ``ClientError`` carries text meant for users; nothing here ever carries a stack trace or
AWS error text to a client.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` frame (docs/protocol.md): stable and machine-readable."""

    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_ACTION = "unknown_action"
    INVALID_FIELD = "invalid_field"
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_CURSOR = "invalid_cursor"
    NOT_STORED = "not_stored"
    RATE_LIMITED = "rate_limited"
    NOT_CONNECTED = "not_connected"
    INTERNAL_ERROR = "internal_error"
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    MESSAGE_DELETED = "message_deleted"
    INVALID_EMOJI = "invalid_emoji"
    TOO_MANY_REACTIONS = "too_many_reactions"
    # Moderation: an action only a moderator may take, or not on that target; a
    # muted sender (with ``until``); a message the word filter refuses.
    NOT_ALLOWED = "not_allowed"
    MUTED = "muted"
    MESSAGE_BLOCKED = "message_blocked"


class ChatError(Exception):
    """Base class of every deliberate chat exception."""


class ClientError(ChatError):
    """A client frame broke the protocol; the sender gets ``{"type": "error", ...}``.

    ``client_id`` is the ``clientId`` of the ``sendmessage`` it concerns, when that was valid:
    the error frame carries it so the sender knows which message failed. ``message_id`` is the
    ``id`` of the message an ``editmessage``, ``deletemessage`` or ``react`` targets.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        client_id: str | None = None,
        retry_after_ms: int | None = None,
        message_id: str | None = None,
        until: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.client_id = client_id
        self.retry_after_ms = retry_after_ms
        self.message_id = message_id
        self.until = until

    def about(self, client_id: str | None) -> ClientError:
        """This error, concerning the message sent with ``client_id``."""
        return ClientError(
            self.code,
            self.message,
            client_id=client_id,
            retry_after_ms=self.retry_after_ms,
            message_id=self.message_id,
            until=self.until,
        )

    def targeting(self, message_id: str | None) -> ClientError:
        """This error, concerning the stored message ``message_id`` (a change's target)."""
        return ClientError(
            self.code,
            self.message,
            client_id=self.client_id,
            retry_after_ms=self.retry_after_ms,
            message_id=message_id,
            until=self.until,
        )


class RoomBusy(ClientError):
    """The sender's room is over its message rate: ``rate_limited``, through no fault of the
    sender's (its own budget admitted the message), so it does not count as a refusal."""


class HandshakeRefused(ChatError):
    """``$connect`` is refused with ``status``; ``reason`` is a log-safe machine word."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"handshake refused with {status}: {reason}")
        self.status = status
        self.reason = reason


class ConfigurationError(ChatError):
    """The environment or permissions are wrong; the message says what to fix."""


class InvalidEvent(ChatError):
    """The event lacks what every API Gateway WebSocket event has; the message names it."""


class StoreError(ChatError):
    """An item in a table does not have the expected shape."""


class MessageNotStored(ChatError):
    """A message could not be written; ``reason`` is a log-safe AWS error code or class name."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"message not stored: {reason}")
        self.reason = reason


class ChangeRefused(ChatError):
    """A change to a stored message was refused by its condition (nothing was written);
    ``code`` says why, as the client is told."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(f"change refused: {code}")
        self.code = code


class TargetIsModerator(ChatError):
    """A mute, kick or ban found its target to be a moderator: nothing was changed."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(f"connection {connection_id} is a moderator")
        self.connection_id = connection_id


class DeliveryFailed(ChatError):
    """A post to one connection failed and retrying will not help."""

    def __init__(self, connection_id: str, detail: str) -> None:
        super().__init__(f"delivery to {connection_id} failed: {detail}")
        self.connection_id = connection_id
        self.detail = detail


class ConnectionGone(DeliveryFailed):
    """API Gateway answered 410: the connection no longer exists."""


class PayloadTooLarge(DeliveryFailed):
    """API Gateway answered 413: the frame is larger than it accepts."""


class DeliveryForbidden(DeliveryFailed, ConfigurationError):
    """API Gateway answered 403 (or no credentials): this function may not post there."""


class RetryableDeliveryError(DeliveryFailed):
    """Throttling (429), a server error (5xx) or a network timeout: try again later."""
