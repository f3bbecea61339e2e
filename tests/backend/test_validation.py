"""Names, rooms and message text follow docs/protocol.md."""

from __future__ import annotations

import pytest
from chat.errors import ClientError, ErrorCode
from chat.validation import MAX_NAME_CHARS, MAX_ROOM_CHARS, clean_name, clean_room, clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"),
        ("  alice \t", "alice"),
        ("Zoë 🚀", "Zoë 🚀"),
        ("Ωμέγα", "Ωμέγα"),
        ("a" * MAX_NAME_CHARS, "a" * MAX_NAME_CHARS),
        (" " + "b" * MAX_NAME_CHARS + " ", "b" * MAX_NAME_CHARS),
    ],
)
def test_clean_name_accepts_and_trims(raw: str, expected: str) -> None:
    """A name is trimmed, then accepted when 1 to 32 printable characters."""
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "a" * (MAX_NAME_CHARS + 1),
        "bell\x07",
        "two\nlines",
        "zero\u200bwidth",  # format character
        "line\u2028sep",
        "rtl\u202eoverride",
        "unassigned\U000e0fff",
        "half\ud800",
    ],
)
def test_clean_name_refuses_bad_names(raw: str) -> None:
    """Empty, too long, control, format, separator, unassigned or surrogate names are refused."""
    assert clean_name(raw) is None


@pytest.mark.parametrize("raw", ["lobby", "A-b_9", "x", "r" * MAX_ROOM_CHARS])
def test_clean_room_accepts_the_allowed_alphabet(raw: str) -> None:
    """Rooms of 1 to 64 characters of A-Z a-z 0-9 _ - are accepted unchanged."""
    assert clean_room(raw) == raw


@pytest.mark.parametrize(
    "raw", ["", "r" * (MAX_ROOM_CHARS + 1), "a b", "röom", "room\n", " lobby", "../etc", "a.b"]
)
def test_clean_room_refuses_anything_else(raw: str) -> None:
    """Any other character, an empty room or a 65-character room is refused."""
    assert clean_room(raw) is None


def test_clean_text_trims() -> None:
    """Message text is trimmed of surrounding white space and kept inside."""
    assert clean_text("  hello,\n world \t", 2000) == "hello,\n world"


@pytest.mark.parametrize("raw", ["", "   ", "\n\t "])
def test_clean_text_refuses_empty(raw: str) -> None:
    """Text that is empty after trimming is empty_message."""
    with pytest.raises(ClientError) as caught:
        clean_text(raw, 2000)
    assert caught.value.code is ErrorCode.EMPTY_MESSAGE


def test_clean_text_limit_counts_code_points() -> None:
    """The limit counts characters (code points), so 10 emoji fit a 10-character limit."""
    assert clean_text("🚀" * 10, 10) == "🚀" * 10
    with pytest.raises(ClientError) as caught:
        clean_text("🚀" * 11, 10)
    assert caught.value.code is ErrorCode.MESSAGE_TOO_LONG
    assert "10 characters" in caught.value.message


def test_clean_text_length_is_measured_after_trimming() -> None:
    """Surrounding white space does not count towards the limit."""
    assert clean_text("   " + "x" * 5 + "   ", 5) == "xxxxx"


def test_clean_text_refuses_lone_surrogates() -> None:
    """A lone surrogate cannot be sent on as UTF-8, so it is invalid_field."""
    with pytest.raises(ClientError) as caught:
        clean_text("hi \ud83d", 2000)
    assert caught.value.code is ErrorCode.INVALID_FIELD
