"""Client frames parse into typed values or documented errors; server frames have their shape."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from chat.errors import ClientError, ErrorCode
from chat.frames import INTERNAL_ERROR_FRAME, error_frame, message_frame, pong_frame
from chat.protocol import Ping, SendMessage, parse_frame

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _code_of(body: str | None, *, max_chars: int = 2000, is_base64: bool = False) -> ErrorCode:
    with pytest.raises(ClientError) as caught:
        parse_frame(body, max_chars=max_chars, is_base64=is_base64)
    return caught.value.code


def test_sendmessage_is_parsed_and_trimmed() -> None:
    """A sendmessage frame becomes SendMessage with its trimmed text."""
    frame = parse_frame('{"action": "sendmessage", "text": "  hi  "}', max_chars=2000)
    assert frame == SendMessage("hi")


def test_spoofed_fields_are_ignored() -> None:
    """from, room, id and any other field have no place in the parsed frame."""
    body = json.dumps(
        {"action": "sendmessage", "text": "x", "from": "admin", "room": "secret", "id": "1"}
    )
    assert parse_frame(body, max_chars=2000) == SendMessage("x")


def test_ping_is_parsed() -> None:
    """A ping frame becomes Ping, extra fields or not."""
    assert parse_frame('{"action": "ping", "x": 1}', max_chars=2000) == Ping()


@pytest.mark.parametrize("body", ["not json", "", "{", "{'action': 'ping'}", None, "[" * 100_000])
def test_invalid_json(body: str | None) -> None:
    """Anything that is not JSON (even absurdly nested) is invalid_json, never a crash."""
    assert _code_of(body) is ErrorCode.INVALID_JSON


@pytest.mark.parametrize("body", ["[]", "42", '"sendmessage"', "null", "true"])
def test_invalid_frame(body: str) -> None:
    """JSON that is not an object is invalid_frame."""
    assert _code_of(body) is ErrorCode.INVALID_FRAME


@pytest.mark.parametrize(
    "body", ["{}", '{"action": 5}', '{"action": "SendMessage"}', '{"action": "shout"}']
)
def test_unknown_action(body: str) -> None:
    """A missing, non-string or unknown action is unknown_action."""
    assert _code_of(body) is ErrorCode.UNKNOWN_ACTION


@pytest.mark.parametrize(
    "body",
    [
        '{"action": "sendmessage"}',
        '{"action": "sendmessage", "text": 5}',
        '{"action": "sendmessage", "text": null}',
        '{"action": "sendmessage", "text": ["hi"]}',
    ],
)
def test_invalid_field(body: str) -> None:
    """A missing or non-string text is invalid_field."""
    assert _code_of(body) is ErrorCode.INVALID_FIELD


def test_empty_and_too_long_text() -> None:
    """Text limits apply while parsing: empty_message and message_too_long."""
    assert _code_of('{"action": "sendmessage", "text": "  "}') is ErrorCode.EMPTY_MESSAGE
    long_body = json.dumps({"action": "sendmessage", "text": "x" * 11})
    assert _code_of(long_body, max_chars=10) is ErrorCode.MESSAGE_TOO_LONG


def test_base64_bodies_are_decoded() -> None:
    """A base64 (binary) frame holding UTF-8 JSON is parsed like a text frame."""
    body = base64.b64encode('{"action":"sendmessage","text":"héllo"}'.encode()).decode()
    assert parse_frame(body, max_chars=2000, is_base64=True) == SendMessage("héllo")


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00", b"not base64 at all!"])
def test_undecodable_binary_frames_are_invalid_json(raw: bytes) -> None:
    """A binary frame that is not base64 of UTF-8 is invalid_json."""
    body = raw.decode("latin-1") if raw.startswith(b"not") else base64.b64encode(raw).decode()
    assert _code_of(body, is_base64=True) is ErrorCode.INVALID_JSON


def test_message_frame_shape() -> None:
    """A message frame has exactly the documented keys and keeps non-ASCII text as UTF-8; a new
    message is at rev 1, changed when sent."""
    data = message_frame(
        message_id="01JDQ7ZK3V8Y6W4T2R1P0N9M8K",
        room="lobby",
        sender="zoë",
        text="<b>hi</b> 🚀",
        sent_at="2026-11-25T12:34:56.789Z",
    )
    assert "🚀".encode() in data
    assert json.loads(data) == {
        "type": "message",
        "id": "01JDQ7ZK3V8Y6W4T2R1P0N9M8K",
        "room": "lobby",
        "from": "zoë",
        "text": "<b>hi</b> 🚀",
        "sentAt": "2026-11-25T12:34:56.789Z",
        "rev": 1,
        "changedAt": 1795610096789,
    }


def test_pong_and_error_frames() -> None:
    """pong and error frames have the documented shape."""
    assert json.loads(pong_frame()) == {"type": "pong"}
    assert json.loads(error_frame(ErrorCode.EMPTY_MESSAGE, "The message is empty.")) == {
        "type": "error",
        "code": "empty_message",
        "message": "The message is empty.",
    }
    assert json.loads(INTERNAL_ERROR_FRAME)["code"] == "internal_error"


def test_error_codes_match_the_protocol_document() -> None:
    """Every code in docs/protocol.md's table exists in ErrorCode, and no other."""
    section = PROTOCOL_MD.read_text().split("### `error`", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == {code.value for code in ErrorCode}
