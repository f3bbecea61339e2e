"""ULIDs are 26 Crockford characters, time-sortable and monotonic; timestamps are ISO UTC."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from itertools import count, pairwise

from chat.ids import (
    CROCKFORD,
    UlidGenerator,
    decode_ulid_time,
    encode_ulid,
    guest_name,
    iso_utc,
)

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def test_encode_extremes() -> None:
    """The smallest and largest ULIDs are written as the spec shows."""
    assert encode_ulid(0, 0) == "0" * 26
    assert encode_ulid((1 << 48) - 1, (1 << 80) - 1) == "7" + "Z" * 25


def test_ulid_shape_and_time() -> None:
    """An id is 26 Crockford base32 characters carrying the clock's millisecond."""
    ulid = UlidGenerator(clock_ms=lambda: 1_795_610_096_789).new()
    assert ULID.fullmatch(ulid)
    assert set(ulid) <= set(CROCKFORD)
    assert decode_ulid_time(ulid) == 1_795_610_096_789


def test_ulids_sort_in_time_order() -> None:
    """Ids from later milliseconds sort after earlier ones, whatever their random part."""
    ticks = count(1_700_000_000_000, 7)
    randoms = iter([(1 << 80) - 1, 0, 12345])
    generator = UlidGenerator(clock_ms=lambda: next(ticks), random_bits=lambda _bits: next(randoms))
    ids = [generator.new() for _ in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_ulids_are_monotonic_within_a_millisecond() -> None:
    """Within one millisecond (or when the clock steps back) ids still strictly increase."""
    clock = iter([5_000] * 500 + [4_000] * 500)
    generator = UlidGenerator(clock_ms=lambda: next(clock))
    ids = [generator.new() for _ in range(1000)]
    assert all(a < b for a, b in pairwise(ids))


def test_ulids_are_unique_across_threads() -> None:
    """The generator is safe to share between the fan-out's threads."""
    generator = UlidGenerator()
    results: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [generator.new() for _ in range(500)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 2000


def test_iso_utc_has_milliseconds_and_z() -> None:
    """sentAt is ISO 8601 UTC with three fractional digits and a Z suffix."""
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    parsed = datetime.fromisoformat(iso_utc(1_795_610_096_007).replace("Z", "+00:00"))
    assert parsed == datetime.fromtimestamp(1_795_610_096.007, tz=UTC)


def test_guest_name_is_guest_and_four_hex_digits() -> None:
    """A generated name is guest- and 4 lower-case hex digits."""
    assert guest_name(lambda bits: 0xAB) == "guest-00ab"
    assert re.fullmatch(r"guest-[0-9a-f]{4}", guest_name())
