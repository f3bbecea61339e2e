"""Per-connection rate limits: GCRA's decisions, and the handler's refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.ratelimit import Budget, Verdict, decide

from tests.backend.conftest import MESSAGES_TABLE
from tests.backend.test_handler import NOW_MS, World, message_event, send

BUDGET = Budget("tat", per_minute=120, burst=3)  # 500 ms apart, 3 at once


def test_a_fresh_or_idle_budget_allows_and_starts_from_now() -> None:
    """No TAT yet, or one in the past: allowed, TAT one interval ahead of now."""
    assert decide(None, 10_000, BUDGET) == Verdict(True, next_tat_ms=10_500)
    assert decide(9_000, 10_000, BUDGET) == Verdict(True, next_tat_ms=10_500)


def test_a_burst_runs_ahead_up_to_its_tolerance_then_waits() -> None:
    """Within tolerance TAT grows by one interval; beyond, the wait is exact."""
    assert BUDGET.tolerance_ms == 1000
    assert decide(11_000, 10_000, BUDGET) == Verdict(True, next_tat_ms=11_500)
    assert decide(11_500, 10_000, BUDGET) == Verdict(False, retry_after_ms=500)
    assert decide(11_500, 10_500, BUDGET) == Verdict(True, next_tat_ms=12_000)


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A world with small message and read budgets."""
    world = World(dynamodb)
    world.settings = replace(
        world.settings,
        rate_limit_messages_per_minute=60,
        rate_limit_message_burst=3,
        rate_limit_reads_per_minute=60,
        rate_limit_read_burst=2,
    )
    return world


def stored_count(world: World) -> int:
    """How many messages the room holds."""
    return int(
        world.dynamodb.query(
            TableName=MESSAGES_TABLE,
            KeyConditionExpression="room = :r",
            ExpressionAttributeValues={":r": {"S": "general"}},
            Select="COUNT",
        )["Count"]
    )


def test_a_burst_past_the_limit_is_refused_and_nothing_is_stored_or_sent(world: World) -> None:
    """The fourth message at once is refused with rate_limited, when to retry and its
    clientId; the room never sees it."""
    world.join("a")
    world.join("b")
    for n in range(4):
        world.invoke(send("a", f"m{n}", clientId=f"c{n}"))
    refusal = world.sender.frames("a")[-1]
    assert refusal == {
        "type": "error",
        "code": "rate_limited",
        "message": "You are sending too fast; please wait 1 s.",
        "retryAfterMs": 1000,
        "clientId": "c3",
    }
    assert [f["text"] for f in world.sender.frames("b")] == ["m0", "m1", "m2"]
    assert stored_count(world) == 3


def test_after_the_wait_the_sender_can_send_again(world: World) -> None:
    """Once retryAfterMs has passed the next message goes through."""
    world.join("a")
    for n in range(4):
        world.invoke(send("a", f"m{n}"))
    assert world.sender.frames("a")[-1]["code"] == "rate_limited"
    world.clock_ms = NOW_MS + 1000
    world.invoke(send("a", "again"))
    assert world.sender.frames("a")[-1]["text"] == "again"


def test_reads_have_their_own_budget(world: World) -> None:
    """history is limited apart from messages: spent reads do not stop chat, and back."""
    world.join("a")
    history = json.dumps({"action": "history"})
    for _ in range(3):
        world.invoke(message_event("a", history, route="history"))
    assert [f["type"] for f in world.sender.frames("a")] == ["history", "history", "error"]
    assert world.sender.frames("a")[-1]["code"] == "rate_limited"
    world.invoke(send("a", "still chatting"))
    assert world.sender.frames("a")[-1]["type"] == "message"


def test_an_unknown_connection_is_not_connected_and_not_created(world: World) -> None:
    """Admission never creates an item for a connection the table does not hold."""
    world.invoke(send("ghost", "hello"))
    assert world.sender.frames("ghost")[0]["code"] == "not_connected"
    assert world.item("ghost") is None
