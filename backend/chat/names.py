"""Display names that cannot pass for someone else's: normalised, checked, compared by a key.

- ``normalize_name``: NFKC (fullwidth letters become ASCII, compatibility forms fold), every
  kind of space becomes one ASCII space, runs collapse, ends trimmed.
- ``name_problem``: why a normalised name is refused, or ``None``. Refused: control, format,
  private-use, unassigned and surrogate code points; characters that render blank (Hangul
  fillers, the braille blank, ...); stacked combining marks (more than two on a letter, which
  spill over neighbouring lines); names with no letter, digit or symbol at all; and letters from
  scripts that are not used together (``\u0430lice``: a Cyrillic ``\u0430`` among Latin
  letters).
- ``name_key``: the comparison key: case-folded, marks removed, letters that look alike across
  Latin, Cyrillic and Greek (and digits that pass for letters) mapped to one, spaces, ``-``,
  ``_`` and ``.`` dropped: an all-Cyrillic ``\u0430\u0441\u0435`` has the key of ``ace``,
  ``Bob`` that of ``b0b``. Two names with one key are one name: whoever holds it in a room,
  the other is refused (``usecases.connect``).

Unicode's full confusables data (TR39) is not bundled: the Lambda carries no third-party code.
The table below covers the look-alikes between the scripts most names are written in; other
scripts are kept apart by the mixed-script rule instead.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_NAME_CHARS: Final = 32
MAX_MARKS_PER_LETTER: Final = 2

# Code points that render as nothing or as blank space although Unicode calls them letters or
# symbols ("invisible" names): Hangul fillers, the braille blank, Khmer vowel inherents, ...
_BLANK_LOOKING: Final = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e\u2060\u2061\u2062\u2063\u2064\u034f"
)
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})
_SPACES: Final = re.compile(" +")
_DROPPED_IN_KEY: Final = re.compile(r"[\s\-_.]+")

# Scripts whose letters legitimately mix in one name.
_COMPATIBLE: Final = (
    frozenset({"CJK", "HIRAGANA", "KATAKANA"}),  # Japanese
    frozenset({"CJK", "HANGUL"}),  # Korean
)

# Cross-script look-alikes, to their Latin twin (lower case; keys are case-folded first).
_LOOK_ALIKES: Final = str.maketrans(
    {
        "\u0430": "a",  # cyrillic small letter a
        "\u0432": "b",  # cyrillic small letter ve
        "\u0435": "e",  # cyrillic small letter ie
        "\u0451": "e",  # cyrillic small letter io
        "\u043a": "k",  # cyrillic small letter ka
        "\u043c": "m",  # cyrillic small letter em
        "\u043d": "h",  # cyrillic small letter en
        "\u043e": "o",  # cyrillic small letter o
        "\u0440": "p",  # cyrillic small letter er
        "\u0441": "c",  # cyrillic small letter es
        "\u0442": "t",  # cyrillic small letter te
        "\u0443": "y",  # cyrillic small letter u
        "\u0445": "x",  # cyrillic small letter ha
        "\u0456": "i",  # cyrillic small letter byelorussian-ukrainian i
        "\u0457": "i",  # cyrillic small letter yi
        "\u0458": "j",  # cyrillic small letter je
        "\u0455": "s",  # cyrillic small letter dze
        "\u0501": "d",  # cyrillic small letter komi de
        "\u051b": "q",  # cyrillic small letter qa
        "\u051d": "w",  # cyrillic small letter we
        "\u04bb": "h",  # cyrillic small letter shha
        "\u04cf": "l",  # cyrillic small letter palochka
        "\u0261": "g",  # latin small letter script g
        "\u044c": "b",  # cyrillic small letter soft sign
        "\u03b1": "a",  # greek small letter alpha
        "\u03b2": "b",  # greek small letter beta
        "\u03b5": "e",  # greek small letter epsilon
        "\u03b7": "n",  # greek small letter eta
        "\u03b9": "i",  # greek small letter iota
        "\u03ba": "k",  # greek small letter kappa
        "\u03bc": "u",  # greek small letter mu
        "\u03bd": "v",  # greek small letter nu
        "\u03bf": "o",  # greek small letter omicron
        "\u03c1": "p",  # greek small letter rho
        "\u03c4": "t",  # greek small letter tau
        "\u03c5": "u",  # greek small letter upsilon
        "\u03c7": "x",  # greek small letter chi
        "\u03b3": "y",  # greek small letter gamma
        "\u03f2": "c",  # greek lunate sigma symbol
        "\u03f3": "j",  # greek letter yot
        "\u0131": "i",  # latin small letter dotless i
        "\u0142": "l",  # latin small letter l with stroke
        "\u00f8": "o",  # latin small letter o with stroke
        "\u00df": "ss",  # latin small letter sharp s
        "0": "o",  # digit zero
        "1": "l",  # digit one
        "|": "l",  # vertical line
    }
)


def normalize_name(raw: str) -> str:
    """NFKC, one ASCII space for any run of space separators (category Zs), trimmed of white
    space at both ends. Line breaks and other controls inside stay, for ``name_problem`` to
    refuse."""
    folded = unicodedata.normalize("NFKC", raw)
    spaced = "".join(" " if unicodedata.category(c) == "Zs" else c for c in folded)
    return _SPACES.sub(" ", spaced).strip()


# Unicode names that do not start with their script's name: width variants name it second,
# and a few marks belong to a script under another word (the ideographic iteration mark to
# Han, the prolonged sound mark to both kana). ``None``: script-neutral.
_SCRIPT_BY_NAME: Final[dict[str, str | None]] = {
    "FULLWIDTH": "LATIN",
    "MODIFIER": "LATIN",
    "IDEOGRAPHIC": "CJK",
    "KATAKANA-HIRAGANA": None,
}


def _script(char: str) -> str | None:
    """The script a letter belongs to, from its Unicode name (``None`` for anything that is not
    a letter: digits, punctuation and symbols are script-neutral)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    words = unicodedata.name(char, "UNKNOWN").split(" ")
    if words[0] in {"HALFWIDTH", "FULLWIDTH"} and len(words) > 1:
        words = words[1:]
    return _SCRIPT_BY_NAME.get(words[0], words[0])


def _scripts_compatible(scripts: set[str]) -> bool:
    return len(scripts) <= 1 or any(scripts <= group for group in _COMPATIBLE)


def name_problem(name: str) -> str | None:
    """Why ``name`` (already normalised) is refused, as a log-safe word, or ``None``."""
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        return "length"
    marks = 0
    scripts: set[str] = set()
    visible = False
    # Decomposed, so that a precomposed letter's accent counts among the marks on it.
    for char in unicodedata.normalize("NFD", name):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or char in _BLANK_LOOKING:
            return "invisible_or_control"
        if category in {"Mn", "Me"}:
            marks += 1
            if marks > MAX_MARKS_PER_LETTER:
                return "stacked_marks"
            continue
        marks = 0
        if category[0] in {"L", "N", "S"}:
            visible = True
        script = _script(char)
        if script is not None:
            scripts.add(script)
    if not visible:
        return "nothing_visible"
    if not _scripts_compatible(scripts):
        return "mixed_scripts"
    return None


def name_key(name: str) -> str:
    """The key two names are compared by (see the module docstring)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if unicodedata.category(c) not in {"Mn", "Me"})
    return _DROPPED_IN_KEY.sub("", bare.translate(_LOOK_ALIKES))
