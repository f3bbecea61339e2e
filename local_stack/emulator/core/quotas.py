"""API Gateway's WebSocket quotas and the rules that apply them to frames and URLs."""

from __future__ import annotations

from typing import Final

from local_stack.emulator.core.close_reasons import MESSAGE_TOO_BIG, UNSUPPORTED_DATA, CloseReason

# "Quotas for configuring and running a WebSocket API in API Gateway". The quotas say "KB";
# we read KB as 1,024 bytes (a frame of 32,768 bytes passes, 32,769 closes), the reading the
# binary-minded WebSocket world takes, and the generous one: no client that AWS accepts is
# refused here, though one 1-2 % over a decimal 32,000 might be refused by AWS.
FRAME_LIMIT_BYTES: Final = 32 * 1024
MESSAGE_LIMIT_BYTES: Final = 128 * 1024
URL_LIMIT_CHARS: Final = 4096
INTEGRATION_TIMEOUT_S: Final = 29.0
IDLE_TIMEOUT_S: Final = 600.0
MAX_CONNECTION_S: Final = 7200.0


def judge_client_frame(*, binary: bool, length: int, message_before: int) -> CloseReason | None:
    """Whether a client's data frame closes the connection, and why; None lets it through.

    ``message_before`` is what earlier fragments of the same message held (0 for a first
    frame). "Working with binary media types for WebSocket APIs": a binary frame closes with
    1003. The quotas: a frame over 32 KB, or a message (its fragments together) over 128 KB,
    closes with 1009.
    """
    if binary:
        return UNSUPPORTED_DATA
    if length > FRAME_LIMIT_BYTES or message_before + length > MESSAGE_LIMIT_BYTES:
        return MESSAGE_TOO_BIG
    return None


def fragments(payload: bytes, limit: int = FRAME_LIMIT_BYTES) -> list[bytes]:
    """A post's payload cut into the frames it is delivered in, each at most ``limit`` bytes.

    The quotas' footnote: a message over 32 KB "must be split into multiple frames, each 32 KB
    or smaller", and "this applies to @connections commands". Where exactly API Gateway cuts is
    not published: we cut at every ``limit`` bytes (a cut may fall inside a UTF-8 character,
    which RFC 6455 allows in a fragmented text message). An empty payload is one empty frame.
    """
    if not payload:
        return [b""]
    return [payload[i : i + limit] for i in range(0, len(payload), limit)]


def url_too_long(url: str) -> bool:
    """Whether a WebSocket URL is over the quota's 4,096 characters (the handshake is refused)."""
    return len(url) > URL_LIMIT_CHARS
