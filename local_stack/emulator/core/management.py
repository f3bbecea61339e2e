"""The ``@connections`` management API's answers (``check_post``, ``check_connection``,
``connection_info``) and its errors, shaped as botocore's service model expects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from local_stack.emulator.core.events import identity
from local_stack.emulator.core.quotas import MESSAGE_LIMIT_BYTES
from local_stack.emulator.core.sockets import ClientSocket, SocketState


@dataclass(frozen=True)
class ApiError:
    """An error answer of the management API, shaped as botocore's service model expects."""

    status: int
    error_type: str
    message: str | None = None

    def body(self) -> bytes:
        """The JSON body (``{}`` when the error has no message, as GoneException does)."""
        return json.dumps({} if self.message is None else {"message": self.message}).encode()


GONE: Final = ApiError(410, "GoneException")
PAYLOAD_TOO_LARGE: Final = ApiError(413, "PayloadTooLargeException", "Message too long")
LIMIT_EXCEEDED: Final = ApiError(429, "LimitExceededException", "Rate exceeded")
FORBIDDEN: Final = ApiError(403, "ForbiddenException", "Missing Authentication Token")
INTERNAL_ERROR: Final = ApiError(500, "InternalServerErrorException", "Internal server error")


def check_post(connection: ClientSocket | None, size: int) -> ApiError | None:
    """``PostToConnection``: 413 over 128 KB; 410 unless the connection is OPEN."""
    if size > MESSAGE_LIMIT_BYTES:
        return PAYLOAD_TOO_LARGE
    return check_connection(connection)


def check_connection(connection: ClientSocket | None) -> ApiError | None:
    """``GetConnection``/``DeleteConnection``: 410 unless the connection is OPEN."""
    if connection is None or connection.state is not SocketState.OPEN:
        return GONE
    return None


def iso8601_ms(epoch_s: float) -> str:
    """ISO 8601 UTC with milliseconds, as the management API returns timestamps."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def connection_info(connection: ClientSocket) -> dict[str, Any]:
    """The ``GetConnection`` answer body."""
    return {
        "connectedAt": iso8601_ms(connection.connected_at),
        "identity": identity(connection),
        "lastActiveAt": iso8601_ms(connection.last_active_at),
    }
