"""Message ids (ULID, https://github.com/ulid/spec) and the ISO 8601 timestamps beside them.

A ULID is 128 bits: a 48-bit Unix time in milliseconds, then 80 random bits, written as 26
characters of Crockford's base32. Its text sorts in time order. Within one millisecond this
generator increments the random part instead of drawing a new one, so ids made by one container
sort in the order they were made (the spec's "monotonic" variant).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH: Final = 26
_RANDOM_BITS: Final = 80
_MAX_TIME: Final = (1 << 48) - 1
_MAX_RANDOM: Final = (1 << _RANDOM_BITS) - 1
_MAX_VALUE: Final = (1 << 128) - 1
MAX_ULID: Final = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
_ULID: Final = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def now_ms() -> int:
    """The wall clock in Unix milliseconds."""
    return time.time_ns() // 1_000_000


def encode_ulid(timestamp_ms: int, randomness: int) -> str:
    """Write a 48-bit time and 80 random bits as 26 Crockford base32 characters."""
    if not 0 <= timestamp_ms <= _MAX_TIME:
        raise ValueError(f"a ULID time is 48 bits of milliseconds, got {timestamp_ms}")
    if not 0 <= randomness <= _MAX_RANDOM:
        raise ValueError("a ULID's random part is 80 bits")
    return _encode_value((timestamp_ms << _RANDOM_BITS) | randomness)


def _encode_value(value: int) -> str:
    chars = []
    for _ in range(ULID_LENGTH):
        chars.append(CROCKFORD[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def _decode_value(ulid: str) -> int:
    value = 0
    for char in ulid.upper():
        value = (value << 5) | CROCKFORD.index(char)
    return value


def decode_ulid_time(ulid: str) -> int:
    """The millisecond timestamp a ULID carries."""
    return _decode_value(ulid) >> _RANDOM_BITS


def is_ulid(text: str) -> bool:
    """Whether ``text`` is a canonical ULID: 26 upper-case Crockford characters, at most
    ``7ZZZ…`` (the largest 128-bit value)."""
    return _ULID.fullmatch(text) is not None


def ulid_successor(ulid: str) -> str:
    """The next ULID in sort order (``MAX_ULID`` stays itself)."""
    return _encode_value(min(_decode_value(ulid) + 1, _MAX_VALUE))


def ulid_predecessor(ulid: str) -> str | None:
    """The previous ULID in sort order, or ``None`` before the smallest."""
    value = _decode_value(ulid)
    return None if value == 0 else _encode_value(value - 1)


class UlidGenerator:
    """Thread-safe, monotonic ULIDs from an injectable clock and random source."""

    def __init__(
        self,
        clock_ms: Callable[[], int] = now_ms,
        random_bits: Callable[[int], int] = secrets.randbits,
    ) -> None:
        self._clock_ms = clock_ms
        self._random_bits = random_bits
        self._lock = threading.Lock()
        self._last_time = -1
        self._last_random = 0

    def new(self) -> str:
        """Return a ULID later than every one this generator returned before."""
        with self._lock:
            timestamp = self._clock_ms()
            if timestamp <= self._last_time:
                # Same millisecond, or the clock stepped back: keep order by counting up.
                timestamp = self._last_time
                randomness = self._last_random + 1
                if randomness > _MAX_RANDOM:  # 2**80 ids in one millisecond: borrow the next
                    timestamp += 1
                    randomness = self._random_bits(_RANDOM_BITS)
            else:
                randomness = self._random_bits(_RANDOM_BITS)
            self._last_time, self._last_random = timestamp, randomness
            return encode_ulid(timestamp, randomness)


def iso_utc(timestamp_ms: int) -> str:
    """``2026-11-25T12:34:56.789Z``: ISO 8601 UTC with milliseconds and a ``Z``."""
    seconds, millis = divmod(timestamp_ms, 1000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def guest_name(random_bits: Callable[[int], int] = secrets.randbits) -> str:
    """A generated name for a client that gave none: ``guest-`` and 4 hex digits."""
    return f"guest-{random_bits(16):04x}"
