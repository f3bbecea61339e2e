"""Names that cannot pass for someone else's (issue: impersonation): normalised, refused when
they hide or disguise, compared by a key that ignores look-alikes."""

from __future__ import annotations

import pytest
from chat.names import name_key, name_problem, normalize_name
from chat.validation import clean_name


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\uff41\uff4c\uff49\uff43\uff45", "alice"),  # fullwidth letters fold to ASCII (NFKC)
        ("al\u3000\u3000ice", "al ice"),  # inner wide spaces: one ASCII space
        ("  bob\u00a0\u2003smith ", "bob smith"),
        ("Zoë", "Zoë"),
        ("山田 太郎", "山田 太郎"),
        ("やまだ たろう", "やまだ たろう"),
        ("김민준", "김민준"),
        ("佐々木", "佐々木"),  # the ideographic iteration mark is Han
        ("ラーメン", "ラーメン"),  # the prolonged sound mark belongs to both kana
        ("東京タワー", "東京タワー"),
        ("\uff8a\uff9d\uff76\uff78", "\u30cf\u30f3\u30ab\u30af"),  # halfwidth katakana
        ("😀", "😀"),
    ],
)
def test_names_are_normalised(raw: str, shown: str) -> None:
    """What is kept is the NFKC form with plain single spaces."""
    assert clean_name(raw) == shown


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("\u3164", "invisible_or_control"),  # Hangul filler
        ("\u2800\u2800", "invisible_or_control"),  # braille blank
        ("a\u3164b", "invisible_or_control"),
        ("bob\u200b", "invisible_or_control"),  # zero-width space (format)
        ("x\ue000", "invisible_or_control"),  # private use
        ("z\u0301\u0302\u0303\u0304", "stacked_marks"),
        ("\u00e1\u0301\u0301", "stacked_marks"),  # a precomposed accent counts
        ("\u0430lice", "mixed_scripts"),  # Cyrillic a among Latin letters
        ("pa\u03b3pal", "mixed_scripts"),  # Greek gamma
        ("...", "nothing_visible"),
        ("\u0301", "nothing_visible"),
        ("two\nlines", "invisible_or_control"),
    ],
)
def test_names_that_hide_or_disguise_are_refused(raw: str, problem: str) -> None:
    """Invisible, blank-looking, mark-heavy, private-use and mixed-script names are refused."""
    assert name_problem(normalize_name(raw)) == problem
    assert clean_name(raw) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", "Alice"),
        ("alice", "\uff21\uff2c\uff29\uff23\uff25"),  # fullwidth capitals
        ("ace", "\u0430\u0441\u0435"),  # all-Cyrillic look-alike
        ("bob", "b0b"),
        ("Zoë", "zoe"),
        ("ann-marie", "ann marie"),
    ],
)
def test_look_alike_names_share_a_key(first: str, second: str) -> None:
    """Two names that a reader cannot tell apart are one name."""
    assert name_key(normalize_name(first)) == name_key(normalize_name(second))


def test_different_names_keep_different_keys() -> None:
    """The key does not merge names a reader can tell apart."""
    keys = {name_key(n) for n in ("alice", "alicia", "bob", "bobby", "山田", "やまだ")}
    assert len(keys) == 6
