"""Property tests of route selection: whatever the frame, exactly one route or the Forbidden
answer, never an exception (an exception would leave the sender without any answer)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_stack.emulator.core.routes import RESERVED_ROUTES, RouteSelector, stringify
from soak.strategies import chat_object, deep, hostile_frame, parse

CUSTOM = frozenset({"sendmessage", "history", "ping", "1", "true", "[ping, 2]"})
WITH_DEFAULT = RouteSelector("$request.body.action", RESERVED_ROUTES | CUSTOM)
WITHOUT_DEFAULT = RouteSelector("$request.body.action", frozenset({"$connect"}) | CUSTOM)


@given(hostile_frame())
def test_every_frame_gets_exactly_one_route(frame: str) -> None:
    """Any text selects a custom route or $default (None only when there is no $default); a
    reserved key is never selected by value."""
    with_default = WITH_DEFAULT.select(frame)
    without_default = WITHOUT_DEFAULT.select(frame)
    assert with_default in CUSTOM | {"$default"}
    assert without_default in CUSTOM | {None}
    assert (with_default == "$default") == (without_default is None)


@given(chat_object())
def test_a_string_action_that_names_a_route_selects_it(frame: str) -> None:
    """The selected value of an object frame is its (last) ``action``, matched as a string."""
    value = parse(frame)  # None when nested past the parser: $default, tested above
    action = value.get("action") if isinstance(value, dict) else None
    expected = action if isinstance(action, str) and action in CUSTOM else None
    if expected is not None:
        assert WITH_DEFAULT.select(frame) == expected


@given(deep())
def test_a_deeply_nested_selected_value_goes_to_default(value: str) -> None:
    """A selected value nested past what stringifying it can follow (a few hundred levels,
    short of the parser's own limit) names no route: $default, never a RecursionError. Before
    the fix the frame's task failed and its sender got no answer."""
    frame = '{"action": ' + value + "}"
    assert WITH_DEFAULT.select(frame) == "$default"
    assert WITHOUT_DEFAULT.select(frame) is None


@pytest.mark.parametrize("depth", [400, 700, 990])
def test_selected_value_nested_hundreds_deep_goes_to_default(depth: int) -> None:
    """The depths where parsing succeeds but stringifying recursed past Python's limit."""
    frame = '{"action": ' + "[" * depth + "]" * depth + "}"
    assert WITH_DEFAULT.select(frame) == "$default"


@given(st.lists(st.text(max_size=10), max_size=5))
def test_an_array_of_strings_stringifies_as_java_renders_it(items: list[str]) -> None:
    """The guide's one example: an array of strings reads ``[item1, item2]``."""
    assert stringify(json.loads(json.dumps(items))) == "[" + ", ".join(items) + "]"
