"""WebSocket framing as API Gateway applies it, sans I/O: bytes in, bytes out, no sockets.

aiohttp reassembles fragmented messages before the emulator sees them, so the per-frame quota
(32 KB) and binary frames would pass unseen. ``FrameScreen`` reads the frame headers of the
client's byte stream first (RFC 6455, section 5.2), asks ``core.quotas.judge_client_frame``
about each data frame, and passes on only what API Gateway would accept; control frames (close,
ping, pong) always pass, so the closing handshake still completes. ``encode_message`` writes a
message as the server frames it: one frame per ``core.quotas.fragments`` piece.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from local_stack.emulator.core.close_reasons import CloseReason

CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
_CONTROL: Final = 0x8  # opcodes from 0x8 up are control frames
_FIN: Final = 0x80
_MASKED: Final = 0x80

Judge = Callable[..., CloseReason | None]
"""``core.quotas.judge_client_frame``: ``(*, binary, length, message_before)`` -> a reason or
None."""


def _header_size(head: bytes | bytearray) -> int | None:
    """The header's full size once its first two bytes are known, else None."""
    if len(head) < 2:
        return None
    length7 = head[1] & 0x7F
    extended = 2 if length7 == 126 else 8 if length7 == 127 else 0
    return 2 + extended + (4 if head[1] & _MASKED else 0)


def _payload_length(head: bytes | bytearray) -> int:
    length7 = head[1] & 0x7F
    if length7 == 126:
        return int(struct.unpack_from("!H", head, 2)[0])
    if length7 == 127:
        return int(struct.unpack_from("!Q", head, 2)[0])
    return length7


class FrameScreen:
    """Screens a client's byte stream frame by frame; ``violation`` is set by the first refusal.

    ``feed`` returns the bytes to hand to the WebSocket parser: every frame before the refused
    one whole, then control frames only. The refused frame and every data frame after it are
    dropped, as API Gateway drops them when it closes the connection.
    """

    def __init__(self, judge: Judge) -> None:
        self._judge = judge
        self._head = bytearray()
        self._left = 0  # payload bytes of the current frame still to come
        self._passing = True  # whether the current frame's bytes are passed on
        self._message = 0  # bytes of the current fragmented message so far
        self.violation: CloseReason | None = None

    def feed(self, data: bytes) -> bytes:
        """The part of ``data`` to pass on to the parser."""
        out = bytearray()
        view = memoryview(data)
        i = 0
        while i < len(view):
            if self._left:
                n = min(self._left, len(view) - i)
                if self._passing:
                    out += view[i : i + n]
                self._left -= n
                i += n
                continue
            self._head.append(view[i])
            i += 1
            size = _header_size(self._head)
            if size is None or len(self._head) < size:
                continue
            self._left = _payload_length(self._head)
            self._passing = self._admit(self._head[0])
            if self._passing:
                out += self._head
            self._head.clear()
        return bytes(out)

    def _admit(self, first: int) -> bool:
        opcode = first & 0x0F
        if opcode >= _CONTROL:
            return True
        if self.violation is not None:
            return False
        before = self._message if opcode == CONTINUATION else 0
        verdict = self._judge(binary=opcode == BINARY, length=self._left, message_before=before)
        if verdict is not None:
            self.violation = verdict
            return False
        self._message = 0 if first & _FIN else before + self._left
        return True


def encode_frame(payload: bytes, opcode: int, *, fin: bool) -> bytes:
    """One unmasked (server-to-client) frame."""
    first = (_FIN if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def encode_message(pieces: list[bytes], *, text: bool) -> bytes:
    """A message sent as these fragments: the first frame TEXT or BINARY, then continuations."""
    last = len(pieces) - 1
    return b"".join(
        encode_frame(piece, (TEXT if text else BINARY) if i == 0 else CONTINUATION, fin=i == last)
        for i, piece in enumerate(pieces)
    )
