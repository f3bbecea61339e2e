"""DynamoDB's capacity rules, applied to recorded requests' item sizes (moto reports no real
capacity): an item's size ("Item sizes and formats", DynamoDB Developer Guide) and the read
and write units a request consumes ("Read/write capacity mode"; "Provisioned throughput
considerations for Global Secondary Indexes")."""

from __future__ import annotations

import math
from typing import Any, Final

_READ_UNIT_BYTES: Final = 4096
_EVENTUAL: Final = 0.5
_WRITE_UNIT_BYTES: Final = 1024
TRANSACTIONAL: Final = 2
"""A write inside ``TransactWriteItems`` (a ``ConditionCheck`` too) costs twice a plain one."""


def attribute_size(name: str, value: dict[str, Any]) -> int:
    """An attribute's size as DynamoDB counts it ("Item sizes and formats").

    Strings: UTF-8 bytes. Numbers: one byte per two significant digits, plus one. A string set:
    its strings' bytes. A boolean or null: one byte.
    """
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(name.encode()) + len(raw.encode())
    if kind == "N":
        return len(name.encode()) + _number_size(raw)
    if kind == "SS":
        return len(name.encode()) + sum(len(one.encode()) for one in raw)
    if kind in ("BOOL", "NULL"):
        return len(name.encode()) + 1
    raise ValueError(f"attribute {name!r} of type {kind} is not used by the chat's tables")


def _number_size(raw: str) -> int:
    digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def item_size(item: dict[str, dict[str, Any]], names: tuple[str, ...] | None = None) -> int:
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


def write_units(item_bytes: int, *, factor: int = 1) -> int:
    """Write units for writing one item of ``item_bytes`` (the larger of its sizes before and
    after the write), ``factor`` ``TRANSACTIONAL`` inside a transaction."""
    return factor * max(1, math.ceil(item_bytes / _WRITE_UNIT_BYTES))
