"""Why a connection closed: the status codes and reasons API Gateway reports in
``$disconnect``, per cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class CloseReason:
    """Why a connection closed: the status code and reason ``$disconnect`` reports."""

    code: int
    reason: str


# The close codes and reasons API Gateway reports in $disconnect, per cause.
NO_STATUS: Final = CloseReason(1005, "Client-side close frame status not set")
ABNORMAL: Final = CloseReason(1006, "Connection closed abnormally")
IDLE_TIMEOUT: Final = CloseReason(1001, "Going away")
MAX_DURATION: Final = CloseReason(1001, "Going away")
MESSAGE_TOO_BIG: Final = CloseReason(1009, "Message too big")
# "Working with binary media types for WebSocket APIs": a binary frame is rejected and the client
# disconnected with 1003. The reason text is ours (RFC 6455's name for 1003): AWS publishes none.
UNSUPPORTED_DATA: Final = CloseReason(1003, "Unsupported data")
# DeleteConnection's $disconnect as API Gateway's execution log shows it (aws/chalice#2060,
# boto/boto3#3789): status 1000, reason "Connection Closed Normally".
DELETED: Final = CloseReason(1000, "Connection Closed Normally")
SHUTDOWN: Final = CloseReason(1001, "Going away")


def client_close(code: int, reason: str) -> CloseReason:
    """The close reason for a close frame from the client (code 0: the frame had no status)."""
    if code == 0:
        return NO_STATUS
    return CloseReason(code, reason)
