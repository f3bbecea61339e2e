"""Property tests of the backend's frame parsing and validation: any frame body is either a
typed frame or a ``ClientError`` with a documented code, and whatever the answer is, it can be
encoded and posted (UTF-8, under the frame caps)."""

from __future__ import annotations

import json

from chat.errors import ClientError, ErrorCode
from chat.frames import error_frame, message_frame
from chat.protocol import MAX_CLIENT_ID_CHARS, SendMessage, parse_frame
from chat.validation import clean_name, clean_room, clean_text
from hypothesis import given
from hypothesis import strategies as st

from soak.strategies import ANY_CHAR, chat_object, hostile_frame

MAX_CHARS = 2000
# What parsing alone can refuse a frame with; the other codes (rate limits, storage, size,
# server failures) come from later steps, so parsing answering one of them is a bug.
PARSING_CODES = frozenset(
    {
        ErrorCode.INVALID_JSON,
        ErrorCode.INVALID_FRAME,
        ErrorCode.UNKNOWN_ACTION,
        ErrorCode.INVALID_FIELD,
        ErrorCode.EMPTY_MESSAGE,
        ErrorCode.MESSAGE_TOO_LONG,
        ErrorCode.INVALID_CURSOR,
    }
)


def answer(body: str) -> bytes:
    """What the sender is sent for ``body``: its message frame, or its error frame."""
    try:
        frame = parse_frame(body, max_chars=MAX_CHARS)
    except ClientError as error:
        assert error.code in PARSING_CODES
        assert error.message
        return error_frame(error.code, error.message, error.client_id, error.retry_after_ms)
    if isinstance(frame, SendMessage):
        return message_frame(
            message_id="01JDQ7ZK3V8Y6W4T2R1P0N9M8K",
            room="lobby",
            sender="alice",
            text=frame.text,
            sent_at="2026-11-25T12:34:56.789Z",
            client_id=frame.client_id,
        )
    return b"{}"


@given(st.one_of(hostile_frame(), chat_object()))
def test_any_body_parses_or_is_a_client_error_that_can_be_sent(body: str) -> None:
    """No body makes parsing raise anything but ``ClientError``; the answer is UTF-8 JSON."""
    json.loads(answer(body).decode("utf-8"))


@given(chat_object())
def test_a_parsed_message_holds_clean_text_and_a_valid_client_id(body: str) -> None:
    """What parsing accepts keeps the documented rules: trimmed text of 1 to max characters,
    encodable as UTF-8, and a clientId of 1 to 64 of ``A-Z a-z 0-9 _ -``."""
    try:
        frame = parse_frame(body, max_chars=MAX_CHARS)
    except ClientError:
        return
    if isinstance(frame, SendMessage):
        assert 1 <= len(frame.text) <= MAX_CHARS
        assert frame.text == frame.text.strip()
        frame.text.encode("utf-8")
        if frame.client_id is not None:
            assert 1 <= len(frame.client_id) <= MAX_CLIENT_ID_CHARS


@given(st.text(ANY_CHAR, max_size=80))
def test_names_rooms_and_texts_are_checked_without_surprises(raw: str) -> None:
    """The validators return a clean value, None, or raise ``ClientError``; nothing else."""
    name = clean_name(raw)
    if name is not None:
        name.encode("utf-8")
    room = clean_room(raw)
    if room is not None:
        room.encode("ascii")
    try:
        clean_text(raw, 40).encode("utf-8")
    except ClientError as error:
        assert error.code in {
            ErrorCode.EMPTY_MESSAGE,
            ErrorCode.MESSAGE_TOO_LONG,
            ErrorCode.INVALID_FIELD,
        }
