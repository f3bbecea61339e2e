"""The display name a token gives: one claim, shown bare only when no other user can hold a name
the chat takes for the same one, else tagged from ``sub`` (issue 25)."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from authorizer import names
from authorizer.names import FALLBACK_NAME, TAG_DIGITS, display_name, is_plain, tag
from chat import names as chat_names
from chat.validation import clean_profile_name

SUB = "8f1c2d3e-0000-4000-8000-123456789abc"
OTHER_SUB = "0b7e9a41-1111-4000-8000-abcdef012345"
TAGGED = re.compile(rf"(?P<base>.+) #(?P<tag>\d{{{TAG_DIGITS}}})")


def shown(claims: dict[str, Any], claim: str = "cognito:username", *, unique: bool = True) -> str:
    """The name for ``claims`` (with ``SUB`` unless given)."""
    return display_name({"sub": SUB, **claims}, claim, unique=unique)


def test_the_authorizer_and_the_chat_agree_on_the_longest_name() -> None:
    """The tag fits in what the chat keeps: the limits are one number (no shared import)."""
    assert names.MAX_NAME_CHARS == chat_names.MAX_NAME_CHARS


def test_a_unique_plain_user_name_is_shown_bare() -> None:
    """Cognito's cognito:username, unique in the pool: bare, whatever name the user wrote."""
    claims = {"cognito:username": "alice", "name": "Demo User", "preferred_username": "demo"}
    assert shown(claims) == "alice"


def test_a_name_the_user_wrote_is_never_taken_in_place_of_the_claim() -> None:
    """The user wrote someone else's name and preferred_username: ignored, as is email."""
    claims = {
        "cognito:username": "mallory",
        "name": "Alice Liddell",
        "preferred_username": "alice",
        "email": "alice@example.com",
    }
    assert shown(claims) == "mallory"


@pytest.mark.parametrize("username", ["b0b", "bo.b", "bo-b", "bo_b", "a1ice", "Bob2000"])
def test_a_unique_name_the_chat_would_fold_into_another_is_tagged(username: str) -> None:
    """``b0b`` is another user than ``bob`` at the issuer but ``bob`` in a room: tagged, so
    it neither passes for ``bob`` nor locks ``bob`` out (409)."""
    name = shown({"cognito:username": username})
    assert name == f"{username} #{tag(SUB)}"
    assert chat_names.name_key(name) != chat_names.name_key("bob")
    assert chat_names.name_key(name) != chat_names.name_key("alice")


def test_a_unique_name_longer_than_the_chat_keeps_is_cut_and_tagged() -> None:
    """Two user names alike in their first 32 characters would be cut to one name: tagged."""
    long_a, long_b = "a" * 40, "a" * 41
    first, second = (
        display_name({"sub": s, "cognito:username": u}, "cognito:username", unique=True)
        for s, u in ((SUB, long_a), (OTHER_SUB, long_b))
    )
    assert len(first) == len(second) == names.MAX_NAME_CHARS
    assert first != second
    assert TAGGED.fullmatch(first) and TAGGED.fullmatch(second)


def test_a_name_from_a_claim_that_is_not_unique_is_always_tagged() -> None:
    """An issuer's display names are not unique: two users named alike differ by their tag."""
    first = display_name({"sub": SUB, "name": "Ada Lovelace"}, "name", unique=False)
    second = display_name({"sub": OTHER_SUB, "name": "Ada Lovelace"}, "name", unique=False)
    assert first == f"Ada Lovelace #{tag(SUB)}"
    assert second == f"Ada Lovelace #{tag(OTHER_SUB)}"
    assert chat_names.name_key(first) != chat_names.name_key(second)


def test_a_user_who_copies_a_tagged_name_gets_a_tag_of_their_own() -> None:
    """A user named "Ada Lovelace #123456" still ends in their own tag: no tagged name is
    another user's, and none has a bare name's key (a bare name holds no ``#``)."""
    victim = display_name({"sub": SUB, "name": "Ada Lovelace"}, "name", unique=False)
    copier = display_name({"sub": OTHER_SUB, "name": victim}, "name", unique=False)
    assert copier == f"{victim} #{tag(OTHER_SUB)}"
    assert chat_names.name_key(copier) != chat_names.name_key(victim)


@pytest.mark.parametrize(
    ("claims", "base"),
    [
        ({}, FALLBACK_NAME),
        ({"name": "   "}, FALLBACK_NAME),
        ({"name": 42}, FALLBACK_NAME),
        ({"name": "\uff22\uff4f\uff42\u3000 Smith"}, "Bob Smith"),  # fullwidth "Bob"
        ({"name": "x" * 60}, "x" * (names.MAX_NAME_CHARS - TAG_DIGITS - 2)),
    ],
    ids=["absent", "blank", "not-a-string", "fullwidth-and-wide-spaces", "too-long"],
)
def test_a_missing_odd_or_long_claim_still_gives_a_tagged_name(
    claims: dict[str, Any], base: str
) -> None:
    """Normalised as the chat normalises, cut before the tag, and never empty."""
    assert shown(claims, "name", unique=False) == f"{base} #{tag(SUB)}"


@pytest.mark.parametrize(
    "raw",
    [
        "Ada Lovelace",
        "Ада Лавлейс",
        "東京太郎",
        "ﷺ" * 3,
        "\uff37\uff49\uff44\uff45 " * 10,  # fullwidth "Wide"
        "e\u0301" * 20,
        "x" * 200,
    ],
)
def test_the_chat_keeps_a_tagged_name_as_the_authorizer_made_it(raw: str) -> None:
    """Whatever the script or length, the chat's own cleaning leaves the name whole: the tag
    adds no script (digits only) and is never cut off."""
    name = shown({"name": raw}, "name", unique=False)
    assert clean_profile_name(name) == name
    assert name.endswith(f" #{tag(SUB)}")


def test_the_tag_is_stable_and_made_of_digits() -> None:
    """The same sub gives the same tag; another sub another one (here); six digits; FNV-1a's
    published 32-bit value for "foobar" (0xbf9cf968), modulo a million."""
    assert tag("foobar") == f"{0xBF9CF968 % 10**TAG_DIGITS:0{TAG_DIGITS}d}"
    assert tag(SUB) == tag(SUB)
    assert tag(SUB) != tag(OTHER_SUB)
    assert re.fullmatch(rf"\d{{{TAG_DIGITS}}}", tag(SUB))


def test_plain_names_are_compared_by_the_chat_as_the_issuer_compares_them() -> None:
    """On every character a plain name may hold, the chat's key is the lower case (Cognito's
    uniqueness, case-insensitive), so two plain user names are one name in a room only when
    they are one user; every character the key changes is outside plain names."""
    for char in string.printable:
        key_keeps_it = chat_names.name_key(char) == char.lower() and char.strip() != ""
        if is_plain(char):
            assert key_keeps_it, char
    for char in "01|.-_ ":
        assert not is_plain(f"bo{char}b")
