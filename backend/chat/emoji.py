"""What a reaction's ``emoji`` may be: one emoji grapheme, RGI-like (docs/protocol.md, ``react``).

Checked by its shape, without Unicode's emoji data files: a pictograph (optionally with the
emoji presentation selector VS16 and a skin tone), or such elements joined by ZWJ; a keycap
(``1️⃣``); a flag (two regional indicators); a subdivision flag (black flag and tag characters).
At most ``MAX_EMOJI_BYTES`` in UTF-8. Text, letters, several emoji and lone modifiers are not.
"""

from __future__ import annotations

import re
from typing import Final

MAX_EMOJI_BYTES: Final = 32

# Extended_Pictographic, approximately (Unicode's emoji-data.txt), without the regional
# indicators and the skin tones, which are never emoji on their own here.
_PICTOGRAPH: Final = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf"
    "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf"
    "\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff\U0001fc00-\U0001fffd"
)
_ELEMENT: Final = f"[{_PICTOGRAPH}]\ufe0f?[\U0001f3fb-\U0001f3ff]?"
_EMOJI: Final = re.compile(
    "|".join(
        (
            f"{_ELEMENT}(?:\u200d{_ELEMENT})*",  # a pictograph, or a ZWJ sequence of them
            "[0-9#*]\ufe0f?\u20e3",  # a keycap
            "[\U0001f1e6-\U0001f1ff]{2}",  # a flag: two regional indicators
            "\U0001f3f4[\U000e0061-\U000e007a]{2,6}\U000e007f",  # a subdivision flag
        )
    )
)


def is_emoji(text: str) -> bool:
    """Whether ``text`` is exactly one emoji grapheme of at most ``MAX_EMOJI_BYTES`` bytes."""
    return len(text.encode("utf-8", "surrogatepass")) <= MAX_EMOJI_BYTES and bool(
        _EMOJI.fullmatch(text)
    )
