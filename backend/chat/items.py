"""Reading DynamoDB's typed attribute values (``{"S": ...}``, ``{"N": ...}``), shared by the
stores: a missing or mistyped attribute is a ``StoreError`` naming the table and attribute."""

from __future__ import annotations

from typing import Any

from .errors import StoreError


def string_attribute(item: dict[str, Any], name: str, table: str) -> str:
    """The string attribute ``name`` of an item of ``table``."""
    value = item.get(name, {}).get("S")
    if not isinstance(value, str):
        raise StoreError(f"{table} item lacks the string attribute {name!r}")
    return value


def number_attribute(item: dict[str, Any], name: str, table: str) -> int:
    """The whole-number attribute ``name`` of an item of ``table``."""
    value = item.get(name, {}).get("N")
    try:
        return int(str(value))
    except ValueError:
        raise StoreError(f"{table} item lacks the whole-number attribute {name!r}") from None


def optional_string_attribute(item: dict[str, Any], name: str) -> str:
    """The string attribute ``name``, or the empty string where the item has none (items written
    before the attribute existed: as if unproven)."""
    value = item.get(name, {}).get("S", "")
    return value if isinstance(value, str) else ""
