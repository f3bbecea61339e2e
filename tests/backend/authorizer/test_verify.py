"""Whom a valid token names: the display name's claims in the contract's order."""

from __future__ import annotations

from typing import Any

import pytest
from authorizer.verify import display_name

SUB = "8f1c2d3e-0000-4000-8000-123456789abc"


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        (
            {"name": "Alice Liddell", "preferred_username": "al", "cognito:username": "a"},
            "Alice Liddell",
        ),
        ({"preferred_username": "al", "cognito:username": "alice"}, "al"),
        ({"cognito:username": "alice", "email": "alice@example.com"}, "alice"),
        # Pools that sign in by email set cognito:username to the sub: not a name to show.
        ({"cognito:username": SUB, "email": "alice@example.com"}, "alice"),
        ({"name": "  ", "email": "bob@example.com"}, "bob"),
        ({}, SUB),
        ({"name": 42}, SUB),
    ],
)
def test_the_display_name_comes_from_the_first_usable_claim(
    claims: dict[str, Any], name: str
) -> None:
    """name, preferred_username, cognito:username, email's local part, sub."""
    assert display_name({"sub": SUB, **claims}) == name
