"""The API Gateway management API (``@connections``): the port the fan-out posts through.

A post is ``POST {endpoint}/@connections/{connectionId}`` with the frame as the body, signed
with Signature Version 4 for the service ``execute-api`` ("Use @connections commands in your
backend service"). Every failure becomes a domain error (see ``errors.py``) following the API
reference's error list, in one place, ``classify``: 410 (``GoneException``) ``ConnectionGone``,
413 ``PayloadTooLarge``, 403 ``DeliveryForbidden``, 429, any 5xx and network errors
``RetryableDeliveryError``. The broadcaster decides what to do with them.

The implementation the Lambda uses is ``signed_sender.SignedHttpSender`` (signing in ``sigv4``,
the one-thread ``flight``, answers read by ``http_answers``). The boto3 reference the benchmarks
compare it with (a ``post_to_connection`` per recipient) lives in ``bench/boto3_sender.py``: the
zip carries only what the Lambda runs.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Final, Protocol, runtime_checkable

from .connections import ConnectionId
from .errors import (
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)

# The only HTTP method the sender uses; the IAM test reads it from here (the resource ARN is
# {api}/{stage}/{METHOD}/@connections/*).
POST_TO_CONNECTION: Final = "POST"
# DeleteConnection: closes a connection from the server side ("Use @connections commands in
# your backend service"); used for connections that keep being refused.
DELETE_CONNECTION: Final = "DELETE"

_GONE: Final = frozenset({"GoneException"})
_TOO_LARGE: Final = frozenset({"PayloadTooLargeException"})
_FORBIDDEN: Final = frozenset({"ForbiddenException", "AccessDeniedException"})
_THROTTLED: Final = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)


class Sender(Protocol):
    """Posts one frame to one connection, raising the ``DeliveryFailed`` family on failure."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """Deliver ``data`` as one text frame to ``connection_id``."""

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """Close ``connection_id`` from the server side (API Gateway then runs ``$disconnect``)."""


def classify(connection_id: str, status: int | None, code: str) -> DeliveryFailed:
    """Map a failed ``PostToConnection`` (HTTP status, AWS error code) to a domain error.

    The error code (``x-amzn-ErrorType``) wins when known; otherwise the status decides.
    """
    detail = f"{code or 'error'} (HTTP {status})"
    if code in _GONE or status == 410:
        return ConnectionGone(connection_id, detail)
    if code in _TOO_LARGE or status == 413:
        return PayloadTooLarge(connection_id, detail)
    if code in _FORBIDDEN or status == 403:
        return DeliveryForbidden(connection_id, detail)
    if code in _THROTTLED or status == 429 or (status is not None and status >= 500):
        return RetryableDeliveryError(connection_id, detail)
    return DeliveryFailed(connection_id, detail)


class Flight(Protocol):
    """Posts in flight together, driven from one thread (``SignedHttpSender.flight``)."""

    @property
    def in_flight(self) -> int:
        """Posts started and not yet reported by ``wait``."""

    def start(
        self, connection_id: ConnectionId, data: bytes, method: str = POST_TO_CONNECTION
    ) -> int:
        """Start posting ``data`` to ``connection_id`` (or another ``@connections`` call:
        ``method``); returns the call's ticket. Never raises: a call that cannot even start is
        reported by the next ``wait``."""

    def wait(self, timeout: float | None) -> list[tuple[int, DeliveryFailed | None]]:
        """Wait up to ``timeout`` seconds (``None``: until one finishes) and return the posts
        that finished, by ticket, each with ``None`` (delivered) or its domain error."""


@runtime_checkable
class MultiplexingSender(Sender, Protocol):
    """A ``Sender`` that can also keep many posts in flight from one thread."""

    def flight(self) -> AbstractContextManager[Flight]:
        """A ``Flight``; leaving it abandons what is still in flight (its connections closed)."""
