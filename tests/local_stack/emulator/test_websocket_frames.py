"""The sans-I/O frame screen and encoder, byte by byte."""

from __future__ import annotations

import os
import struct

from local_stack.emulator.core import close_reasons, quotas
from local_stack.emulator.websocket_frames import (
    BINARY,
    CONTINUATION,
    TEXT,
    FrameScreen,
    encode_frame,
    encode_message,
)

CLOSE = 0x8


def client_frame(payload: bytes, opcode: int, *, fin: bool = True) -> bytes:
    """A masked frame, as a client sends it (RFC 6455, section 5.3)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    return header + mask + masked


def screen_bytes(data: bytes, chunk: int) -> tuple[bytes, FrameScreen]:
    screen = FrameScreen(quotas.judge_client_frame)
    passed = b"".join(screen.feed(data[i : i + chunk]) for i in range(0, len(data), chunk))
    return passed, screen


def test_frames_within_the_quotas_pass_whole_however_the_bytes_arrive() -> None:
    """Text frames up to 32 KB and fragmented messages up to 128 KB pass byte for byte."""
    limit = quotas.FRAME_LIMIT_BYTES
    stream = client_frame(b"x" * limit, TEXT) + b"".join(
        client_frame(b"y" * limit, TEXT if i == 0 else CONTINUATION, fin=i == 3) for i in range(4)
    )
    for chunk in (1, 7, 4096, len(stream)):
        passed, screen = screen_bytes(stream, chunk)
        assert passed == stream
        assert screen.violation is None


def test_an_oversized_frame_is_dropped_with_what_follows_but_control_frames_pass() -> None:
    """The frame over 32 KB and later data frames are dropped; the close frame still passes,
    so the closing handshake completes."""
    before = client_frame(b"ok", TEXT)
    close = client_frame(struct.pack("!H", 1000), CLOSE)
    stream = (
        before
        + client_frame(b"z" * (quotas.FRAME_LIMIT_BYTES + 1), TEXT)
        + client_frame(b"later", TEXT)
        + close
    )
    passed, screen = screen_bytes(stream, 1000)
    assert passed == before + close
    assert screen.violation == close_reasons.MESSAGE_TOO_BIG


def test_a_message_over_128_kb_and_a_binary_frame_are_refused() -> None:
    """The fragment that takes a message past 128 KB is refused with 1009; a binary frame with
    1003."""
    limit = quotas.FRAME_LIMIT_BYTES
    fragments = [client_frame(b"y" * limit, TEXT, fin=False)]
    fragments += [client_frame(b"y" * limit, CONTINUATION, fin=False) for _ in range(3)]
    fragments.append(client_frame(b"y", CONTINUATION))
    passed, screen = screen_bytes(b"".join(fragments), 65536)
    assert passed == b"".join(fragments[:4])
    assert screen.violation == close_reasons.MESSAGE_TOO_BIG
    passed, screen = screen_bytes(client_frame(b"\x00", BINARY), 3)
    assert (passed, screen.violation) == (b"", close_reasons.UNSUPPORTED_DATA)


def test_messages_are_encoded_as_one_text_frame_then_continuations() -> None:
    """Server frames are unmasked; FIN only on the last; lengths use the short forms."""
    assert encode_frame(b"hi", TEXT, fin=True) == b"\x81\x02hi"
    assert encode_frame(b"x" * 200, CONTINUATION, fin=False)[:4] == b"\x00\x7e\x00\xc8"
    assert encode_frame(b"x" * 70000, BINARY, fin=True)[:10] == b"\x82\x7f" + struct.pack(
        "!Q", 70000
    )
    assert encode_message([b"ab", b"c"], text=True) == b"\x01\x02ab\x80\x01c"
