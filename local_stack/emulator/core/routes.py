"""Route selection: the route keys, the route selection expression (``$request.body.action``,
nested paths such as ``$request.body.a.b``), the stringified value, and the ``$default``
fallback."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from local_stack.emulator.core.errors import EmulatorConfigError

CONNECT_ROUTE: Final = "$connect"
DISCONNECT_ROUTE: Final = "$disconnect"
DEFAULT_ROUTE: Final = "$default"
RESERVED_ROUTES: Final = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE})
DEFAULT_ROUTE_SELECTION_EXPRESSION: Final = "$request.body.action"

_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_BODY_PREFIX = "$request.body."


@dataclass(frozen=True)
class RouteSelector:
    """Picks the route for a client frame ("Route selection expressions").

    The selected value is stringified before it is matched ("Create routes for WebSocket APIs":
    "keep in mind that the result will be stringified"), see ``stringify``; a missing or null
    value, a frame that is not JSON (or nests too deeply to parse), or a value that names no
    route falls back to ``$default`` (None when there is none).
    """

    expression: str
    routes: frozenset[str]
    path: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        text = self.expression.strip()
        if text.startswith("${") and text.endswith("}"):
            text = "$" + text[2:-1]
        if not text.startswith(_BODY_PREFIX):
            raise EmulatorConfigError(
                f"route selection expression {self.expression!r} is not supported: "
                f"use {_BODY_PREFIX}<path>, for example {DEFAULT_ROUTE_SELECTION_EXPRESSION}"
            )
        path = tuple(text[len(_BODY_PREFIX) :].split("."))
        bad = [segment for segment in path if not _SEGMENT.fullmatch(segment)]
        if bad:
            raise EmulatorConfigError(
                f"route selection expression {self.expression!r} has invalid path segment(s) "
                f"{bad}: use dot-separated names such as $request.body.a.b"
            )
        unknown = {r for r in self.routes if r.startswith("$")} - RESERVED_ROUTES
        if unknown:
            raise EmulatorConfigError(
                f"unknown reserved route key(s) {sorted(unknown)}: only {sorted(RESERVED_ROUTES)} "
                "may start with '$'"
            )
        object.__setattr__(self, "path", path)

    def select(self, body: str) -> str | None:
        """The route key for this frame, ``$default``, or None (no route: API Gateway refuses)."""
        value = self._evaluate(body)
        if value is not None and value in self.routes and value not in RESERVED_ROUTES:
            return value
        return DEFAULT_ROUTE if DEFAULT_ROUTE in self.routes else None

    def _evaluate(self, body: str) -> str | None:
        try:
            node: Any = json.loads(body)
        except (ValueError, RecursionError):
            # Not JSON, or nested deeper than the parser goes: the expression cannot be
            # evaluated, and API Gateway sends such a frame to $default.
            return None
        for segment in self.path:
            if not isinstance(node, dict) or segment not in node:
                return None
            node = node[segment]
        try:
            return stringify(node)
        except RecursionError:
            # Parsed, but nested deeper than stringifying can follow (a few hundred levels):
            # such a value names no route (route keys are short), so the frame goes to $default,
            # as one that cannot be parsed does.
            return None


def stringify(value: Any) -> str | None:
    """A selected JSON value as the route key it matches; None for null (no value).

    The guide's one example is an array of two strings becoming ``[item1, item2]``: Java's
    collection ``toString``. We follow that rendering throughout, which is our reading: strings
    as they are, ``true``/``false``, integers in decimal, other numbers as their shortest
    decimal (``1.5``; ``1.0`` stays ``1.0``), arrays ``[a, b]`` and objects ``{k=v, k2=v2}``
    with strings unquoted. Null selects nothing, like a missing value.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)  # true, false, 1, 1.5, 1.0
    if isinstance(value, list):
        return "[" + ", ".join(_stringify_item(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_stringify_item(v)}" for k, v in value.items()) + "}"
    return None


def _stringify_item(value: Any) -> str:
    text = stringify(value)
    return "null" if text is None else text
