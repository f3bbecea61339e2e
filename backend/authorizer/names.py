"""The name the chat shows for a signed-in user, from a claim the user cannot make someone
else's (issue 25: a ``name`` users write themselves let anyone chat as anyone).

- The name comes from one claim, ``AuthSettings.name_claim`` (``AUTH_NAME_CLAIM``), never from
  a chain of claims a user could fill in to jump ahead of the others.
- It is shown bare only when no other user can hold a name the chat takes for the same one:
  the issuer makes the claim unique and read-only (``name_unique``: Cognito's
  ``cognito:username``, unique in its pool whatever the case), and the name is *plain*, made
  of ``A-Z``, ``a-z`` and ``2-9`` and at most ``MAX_NAME_CHARS`` long. The chat compares names
  by a key that folds case, look-alike letters, ``0``/``1`` (as ``o``/``l``) and separators
  (``chat.names.name_key``), so ``b0b`` or ``bo.b``, though another user name than ``bob`` at
  the issuer, would be ``bob`` in a room; on plain names that key is the lower case, so the
  issuer's uniqueness is the chat's.
- Any other name is shown with a tag, `` #`` and ``TAG_DIGITS`` digits derived from ``sub``
  (``tag``), as chat services show a discriminator: two users whose names look alike differ by
  their tags, and since a bare name holds no ``#``, no tagged name ever takes a bare one's
  place in a room. The name before the tag is cut to fit ``MAX_NAME_CHARS``. Digits only,
  so that the tag adds no script to a name the chat checks for mixed scripts.

A missing or empty claim is ``FALLBACK_NAME``, tagged. The chat still holds the result to its
rules (``clean_profile_name``): a name they refuse is refused at ``$connect`` with 400.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

# chat.names.MAX_NAME_CHARS: the chat cuts a longer name, which would cut the tag off (a test
# keeps the two equal: neither package imports the other).
MAX_NAME_CHARS: Final = 32
TAG_DIGITS: Final = 6
TAG_SEPARATOR: Final = " #"
FALLBACK_NAME: Final = "user"
_PLAIN: Final = re.compile(r"[A-Za-z2-9]+")
_SPACES: Final = re.compile(" +")
# FNV-1a, 32 bits (the parameters of draft-eastlake-fnv).
_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193


def tag(sub: str) -> str:
    """``TAG_DIGITS`` decimal digits of the 32-bit FNV-1a hash of ``sub`` (UTF-8): the same for
    a user every time, spread evenly over users (a look-alike needs about 10**6 accounts to hit
    one user's tag). FNV-1a, not a cryptographic hash: the page computes the same tag
    (``frontend/js/accountname.js``) on plain-http pages too, where browsers offer no Web
    Crypto, and a cryptographic hash would not help: where users could choose their ``sub``,
    they could search any hash's ten-to-the-six outcomes offline alike."""
    value = _FNV_OFFSET
    for byte in sub.encode("utf-8"):
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return f"{value % 10**TAG_DIGITS:0{TAG_DIGITS}d}"


def _normalized(raw: str) -> str:
    """NFKC, spaces collapsed, ends trimmed: as the chat normalises (``normalize_name``), so
    the cut below is made on what the chat will count."""
    folded = unicodedata.normalize("NFKC", raw)
    spaced = "".join(" " if unicodedata.category(c) == "Zs" else c for c in folded)
    return _SPACES.sub(" ", spaced).strip()


def is_plain(name: str) -> bool:
    """Whether ``name`` may be shown bare when its claim is unique (module docstring)."""
    return len(name) <= MAX_NAME_CHARS and _PLAIN.fullmatch(name) is not None


def display_name(claims: Mapping[str, Any], claim: str, *, unique: bool) -> str:
    """The name the chat shows for the user of ``claims`` (a verified token's, with ``sub``),
    taken from ``claim`` (module docstring)."""
    value = claims.get(claim)
    base = _normalized(value) if isinstance(value, str) else ""
    if unique and is_plain(base):
        return base
    suffix = TAG_SEPARATOR + tag(str(claims["sub"]))
    base = base[: MAX_NAME_CHARS - len(suffix)].rstrip() or FALLBACK_NAME
    return base + suffix
