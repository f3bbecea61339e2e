"""Reading one environment variable's value: a whole number, one within bounds, a URL the
function may post to. A bad value appends its problem to ``problems`` and reads as the default,
so that a ``ConfigurationError`` names every bad variable at once (``config.Settings.from_env``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


def secure_or_loopback(url: str) -> bool:
    """https anywhere; plain http only to this machine (the local stack), since the posts are
    signed with the function's credentials and carry users' messages."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "::1", "localhost"}


def bounded(
    env: Mapping[str, str], name: str, default: int, high: int, problems: list[str], *, low: int = 1
) -> int:
    """The whole number ``name`` holds (``default`` where it is unset), from ``low`` to ``high``."""
    value = whole_number(env, name, default, problems)
    if not low <= value <= high:
        problems.append(f"{name} must be between {low} and {high}, got {value}")
    return value


def whole_number(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    """The whole number ``name`` holds, or ``default`` where it is unset (or not a number)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        problems.append(f"{name} must be a whole number, got {raw!r}")
        return default
