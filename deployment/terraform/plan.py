"""``terraform plan``, parsed: which resources and attributes a plan would change."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class AttributeDiff:
    """One attribute a plan would change."""

    # Dotted attribute path with list and set positions left out, so nested blocks read
    # naturally: "origin.origin_access_control_id", "logging_config".
    path: str
    # True when the new value is known only after apply (it depends on a pending change).
    unknown: bool


@dataclass(frozen=True)
class ResourceChange:
    """One resource in a plan that is not a no-op."""

    address: str
    resource_type: str
    actions: tuple[str, ...]
    diffs: tuple[AttributeDiff, ...]

    @property
    def paths(self) -> frozenset[str]:
        """The changed attribute paths."""
        return frozenset(diff.path for diff in self.diffs)


@dataclass(frozen=True)
class Plan:
    """The result of ``terraform plan -detailed-exitcode``."""

    has_changes: bool
    changes: tuple[ResourceChange, ...]
    output_changes: tuple[str, ...]
    text: str


def _diffs(path: str, before: Any, after: Any, unknown: Any) -> Iterator[AttributeDiff]:
    if unknown is True:
        yield AttributeDiff(path, unknown=True)
    elif isinstance(before, dict) and isinstance(after, dict):
        unknown_keys = unknown if isinstance(unknown, dict) else {}
        for key in sorted(before.keys() | after.keys() | unknown_keys.keys()):
            child = f"{path}.{key}" if path else key
            yield from _diffs(child, before.get(key), after.get(key), unknown_keys.get(key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        unknown_items = unknown if isinstance(unknown, list) else [None] * len(after)
        for b, a, u in zip(before, after, unknown_items, strict=False):
            yield from _diffs(path, b, a, u)
    elif before != after:
        yield AttributeDiff(path, unknown=False)


def attribute_diffs(change: Mapping[str, Any]) -> tuple[AttributeDiff, ...]:
    """Every attribute path whose planned value differs from the state (unknown included)."""
    diffs = _diffs(
        "", change.get("before") or {}, change.get("after") or {}, change.get("after_unknown")
    )
    return tuple(sorted(set(diffs)))


def plan_from_json(document: Mapping[str, Any], exit_code: int, text: str) -> Plan:
    """Build a ``Plan`` from ``terraform show -json <planfile>``."""
    changes = tuple(
        ResourceChange(
            address=rc["address"],
            resource_type=rc["type"],
            actions=tuple(rc["change"]["actions"]),
            diffs=attribute_diffs(rc["change"]),
        )
        for rc in document.get("resource_changes", [])
        if tuple(rc["change"]["actions"]) not in {("no-op",), ("read",)}
    )
    outputs = tuple(
        name
        for name, oc in (document.get("output_changes") or {}).items()
        if tuple(oc.get("actions", ())) != ("no-op",)
    )
    return Plan(has_changes=exit_code == 2, changes=changes, output_changes=outputs, text=text)
