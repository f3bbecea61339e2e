"""DynamoDB's capacity rules, applied to recorded requests' item sizes (moto reports no real
capacity): an item's size ("Item sizes and formats", DynamoDB Developer Guide) and the read
units a request consumes ("Read/write capacity mode")."""

from __future__ import annotations

import math
from typing import Final

_READ_UNIT_BYTES: Final = 4096
_EVENTUAL: Final = 0.5


def attribute_size(name: str, value: dict[str, str]) -> int:
    """An attribute's size as DynamoDB counts it ("Item sizes and formats").

    Strings: UTF-8 bytes. Numbers: one byte per two significant digits, plus one.
    """
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(name.encode()) + len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return len(name.encode()) + math.ceil(len(digits) / 2) + 1
    raise ValueError(f"attribute {name!r} of type {kind} is not used by the connections table")


def item_size(item: dict[str, dict[str, str]], names: tuple[str, ...] | None = None) -> int:
    """The size of ``item`` (or of the attributes ``names`` of it, e.g. an index entry)."""
    return sum(
        attribute_size(name, value)
        for name, value in item.items()
        if names is None or name in names
    )


def read_units(item_bytes: int) -> float:
    """Eventually consistent read units for one request that read ``item_bytes``."""
    return math.ceil(item_bytes / _READ_UNIT_BYTES) * _EVENTUAL


def strong_read_units(item_bytes: int) -> float:
    """Strongly consistent read units for one request that read ``item_bytes``."""
    return float(math.ceil(item_bytes / _READ_UNIT_BYTES))
