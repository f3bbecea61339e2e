"""Frames that cost everyone are charged (issue 25, section 3): ``$default`` frames spend a
budget, refusals spend the connection's refusal budget and past it the connection is closed
through ``@connections``, and a room's messages and a source's frames have shared budgets.
The handler is fed real-shaped events; DynamoDB is moto."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from chat.connection_table import DynamoConnectionStore
from chat.connections import CONNECTION_ID_ATTRIBUTE, TTL_ATTRIBUTE
from chat.errors import ConnectionGone, DeliveryForbidden
from chat.http_answers import parse_answer
from chat.ratelimit import Budget
from chat.shared_rates import (
    ROOM_MESSAGES,
    SHARED_RATE_ATTRIBUTE,
    SHARED_RATE_GRACE_S,
    SOURCE_FRAMES,
    shared_rate_key,
)
from chat.sources import source_digest
from chat.usecases.admission import STRAY_BURST

from tests.backend.conftest import TABLE, Logs
from tests.backend.test_handler import NOW_MS, World, message_event, send

SOURCE = "203.0.113.10"  # the fixture events' requestContext.identity.sourceIp
UNKNOWN, NOT_JSON, EMPTY = '{"action": "shout"}', "not json", ""


def from_source(event: dict[str, Any], source_ip: str) -> dict[str, Any]:
    """``event`` as if its connection came from ``source_ip``."""
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    return event


def codes(world: World, cid: str) -> list[str]:
    """The type (or error code) of each frame delivered to ``cid``, in order."""
    return [f.get("code", f["type"]) for f in world.sender.frames(cid)]


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A world with a small refusal budget (5 back to back, 5 a minute)."""
    world = World(dynamodb)
    world.settings = replace(
        world.settings, rate_limit_refusals_per_minute=5, rate_limit_refusal_burst=5
    )
    return world


@pytest.mark.parametrize("body", [UNKNOWN, NOT_JSON, EMPTY])
def test_default_frames_are_charged_and_then_refused_with_rate_limited(
    world: World, body: str
) -> None:
    """Past the stray-frame burst, a frame no route takes is answered rate_limited, not
    parsed: each one spent an invocation and a post, so it has a budget like any other."""
    world.settings = replace(world.settings, rate_limit_refusal_burst=100)
    world.join("a")
    for _ in range(STRAY_BURST + 2):
        world.invoke(message_event("a", body, route="$default"))
    answers = codes(world, "a")
    assert len(answers) == STRAY_BURST + 2
    assert "rate_limited" not in answers[:STRAY_BURST]
    assert answers[STRAY_BURST:] == ["rate_limited", "rate_limited"]
    assert world.sender.frames("a")[-1]["retryAfterMs"] > 0


def test_a_connection_that_keeps_being_refused_is_closed_and_the_close_is_logged(
    world: World, logs: Logs
) -> None:
    """The refusal past the budget is not answered: the connection is deleted through
    @connections, once, and a warning names the connection and the code, never the frame."""
    world.join("a")
    logs.clear()
    for _ in range(8):
        world.invoke(message_event("a", "secret words", route="$default"))
    assert len(world.sender.frames("a")) == 5  # the refusal budget's burst, then the close
    assert world.sender.deleted[0] == "a"
    closes = [r for r in logs.records if r["message"].startswith("closed a connection")]
    assert closes[0]["connectionId"] == "a"
    assert closes[0]["code"] == "rate_limited"  # the stray-frame budget's refusal
    assert closes[0]["level"] == "WARN"
    assert "secret" not in "".join(logs.lines)
    outcomes = Counter(line["outcome"] for line in logs.invocations())
    assert outcomes == {"rejected": 5, "closed": 3}


def test_rate_limited_frames_count_as_refusals_on_any_route(world: World) -> None:
    """A flood of pings past the ping budget closes the connection too."""
    world.join("a")
    ping = json.dumps({"action": "ping"})
    for _ in range(20):
        world.invoke(message_event("a", ping, route="ping"))
    answers = codes(world, "a")
    assert answers == ["pong"] * 10 + ["rate_limited"] * 5
    assert world.sender.deleted[0] == "a"


def test_server_side_failures_are_not_counted_as_refusals(world: World) -> None:
    """not_connected (nothing to count on) never closes anything: only a client's own
    refusals spend the refusal budget."""
    for _ in range(10):
        world.invoke(send("ghost", "hello"))
    assert codes(world, "ghost") == ["not_connected"] * 10
    assert world.sender.deleted == []


def test_a_close_that_finds_the_connection_gone_counts_as_closed(world: World) -> None:
    """410 on DeleteConnection: the client left already; nothing is answered."""
    world.join("a")
    world.sender.script["a"] = [None] * 5 + [ConnectionGone("a", "GoneException (HTTP 410)")]
    for _ in range(6):
        world.invoke(message_event("a", NOT_JSON, route="$default"))
    assert len(world.sender.frames("a")) == 5
    assert world.sender.deleted == []


def test_a_close_that_fails_answers_the_frame_and_says_so(world: World, logs: Logs) -> None:
    """A DeleteConnection that fails (here 403) leaves the connection answered as before, with
    a warning; the next refusal tries the close again."""
    world.join("a")
    world.sender.script["a"] = [None] * 5 + [DeliveryForbidden("a", "ForbiddenException")]
    for _ in range(7):
        world.invoke(message_event("a", NOT_JSON, route="$default"))
    assert len(world.sender.frames("a")) == 6
    assert world.sender.deleted == ["a"]
    (warning,) = [r for r in logs.records if r["message"].startswith("could not close")]
    assert (warning["connectionId"], warning["reason"]) == ("a", "DeliveryForbidden")


def test_three_connections_in_one_room_share_the_rooms_message_budget(world: World) -> None:
    """Each within its own budget, three senders together get no more than the room's burst
    through; a second room is not affected."""
    world.settings = replace(
        world.settings,
        rate_limit_room_message_burst=10,
        rate_limit_room_messages_per_minute=60,
        rate_limit_refusal_burst=100,
    )
    for cid in ("a", "b", "c"):
        world.join(cid)
    world.join("d", room="elsewhere")
    for n in range(7):
        for cid in ("a", "b", "c"):
            world.invoke(send(cid, f"{cid}{n}"))
    sent = sum(codes(world, cid).count("message") for cid in ("a", "b", "c")) // 3
    refused = [f for cid in "abc" for f in world.sender.frames(cid) if f["type"] == "error"]
    assert len(refused) == 21 - 10
    assert {f["code"] for f in refused} == {"rate_limited"}
    assert refused[0]["message"].startswith("The room is busy")
    assert sent == 10  # each accepted message reached all three
    world.invoke(send("d", "quiet here"))
    assert codes(world, "d")[-1] == "message"


def test_the_rooms_budget_refills_at_its_rate(world: World) -> None:
    """After one interval of the room's rate, one more message goes through."""
    world.settings = replace(
        world.settings, rate_limit_room_message_burst=2, rate_limit_room_messages_per_minute=60
    )
    world.join("a")
    world.join("b")
    for cid in ("a", "b", "a"):
        world.invoke(send(cid, "x"))
    assert codes(world, "a")[-1] == "rate_limited"
    world.clock_ms = NOW_MS + 1000
    world.invoke(send("b", "again"))
    assert world.sender.frames("b")[-1]["text"] == "again"


def test_connections_from_one_source_share_its_frame_budget(world: World) -> None:
    """Two connections from one address share one budget of frames; a third from another
    address is not affected."""
    world.settings = replace(
        world.settings,
        rate_limit_source_frame_burst=6,
        rate_limit_source_frames_per_minute=60,
        rate_limit_refusal_burst=100,
    )
    for cid in ("a", "b", "c"):
        world.join(cid)
    ping = json.dumps({"action": "ping"})
    for _ in range(5):
        for cid in ("a", "b"):
            world.invoke(message_event(cid, ping, route="ping"))
    pongs = codes(world, "a").count("pong") + codes(world, "b").count("pong")
    assert pongs == 6
    refused = [f for cid in "ab" for f in world.sender.frames(cid) if f["type"] == "error"]
    assert [f["code"] for f in refused] == ["rate_limited"] * 4
    assert refused[0]["message"].startswith("Your network is sending too fast")
    world.invoke(from_source(message_event("c", ping, route="ping"), "198.51.100.7"))
    assert codes(world, "c") == ["pong"]


def test_the_table_holds_a_digest_of_the_source_never_the_address(world: World) -> None:
    """The source's counter is keyed by a digest; the address appears nowhere in the table."""
    world.join("a")
    world.invoke(send("a", "hello"))
    items = world.dynamodb.scan(TableName=TABLE)["Items"]
    keys = {item[CONNECTION_ID_ATTRIBUTE]["S"] for item in items}
    assert shared_rate_key(SOURCE_FRAMES, source_digest(SOURCE)) in keys
    assert shared_rate_key(ROOM_MESSAGES, "general") in keys
    assert SOURCE not in json.dumps(items)


def test_a_shared_counter_expires_a_minute_after_its_time_and_reads_as_absent_after(
    dynamodb: Any,
) -> None:
    """expiresAt is the TAT plus the grace; an item TTL has not deleted yet (moto never
    does) allows as if absent once it has expired."""
    store = DynamoConnectionStore(dynamodb, TABLE)
    budget = Budget(SHARED_RATE_ATTRIBUTE, 60, 1)  # one at once, one a second
    assert store.admit_shared("rate#room#r", budget, NOW_MS) == 0
    assert store.admit_shared("rate#room#r", budget, NOW_MS) == 1000
    item = dynamodb.get_item(TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": "rate#room#r"}})
    tat = int(item["Item"][SHARED_RATE_ATTRIBUTE]["N"])
    assert int(item["Item"][TTL_ATTRIBUTE]["N"]) == tat // 1000 + SHARED_RATE_GRACE_S
    later = (int(item["Item"][TTL_ATTRIBUTE]["N"]) + 1) * 1000
    assert store.admit_shared("rate#room#r", budget, later) == 0


def test_a_shared_budget_is_exact_when_another_container_spends_it_in_between(
    dynamodb: Any,
) -> None:
    """The add that spends an allowance is conditioned on the stored time as it is when the
    write lands: when another container spends the last allowance between this one's two
    writes, this one is refused rather than overspending. (moto's conditional writes are not
    atomic across threads, so the race is staged: the rival spends right before our add.)"""
    budget = Budget(SHARED_RATE_ATTRIBUTE, 1, 2)  # two at once, nothing refills in the test
    rival = DynamoConnectionStore(dynamodb, TABLE)
    assert rival.admit_shared("rate#source#x", budget, NOW_MS) == 0  # one of two spent

    class Racing:
        """Lets the rival spend just before each add of ours."""

        def __getattr__(self, name: str) -> Any:
            method = getattr(dynamodb, name)

            def call(**request: Any) -> Any:
                if request.get("UpdateExpression", "").startswith("ADD"):
                    assert rival.admit_shared("rate#source#x", budget, NOW_MS) == 0
                return method(**request)

            return call

    ours = DynamoConnectionStore(Racing(), TABLE)
    assert ours.admit_shared("rate#source#x", budget, NOW_MS) == 60_000
    assert rival.admit_shared("rate#source#x", budget, NOW_MS) == 60_000  # both spent


class CountingClient:
    """A DynamoDB client that counts each operation it passes on."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**request: Any) -> Any:
            self.calls[name] += 1
            return method(**request)

        return call


@pytest.mark.parametrize(
    ("body", "route", "updates"),
    [
        ('{"action": "sendmessage", "text": "hi"}', "sendmessage", 3),  # source, sender, room
        ('{"action": "ping"}', "ping", 2),  # source, sender
        ("not json", "$default", 3),  # source, stray frames, refusals
    ],
)
def test_what_each_frame_costs_in_dynamodb_calls(
    dynamodb: Any, body: str, route: str, updates: int
) -> None:
    """The budgets' price, measured: one UpdateItem per budget a frame spends, each a single
    round trip within its rate (sendmessage had one before the room and source budgets)."""
    counting = CountingClient(dynamodb)
    world = World(counting)
    world.join("a")
    world.join("b")
    counting.calls.clear()
    world.invoke(message_event("a", body, route=route))
    assert counting.calls["update_item"] == updates
    assert counting.calls["get_item"] == 0


def test_a_body_less_answer_is_complete_at_the_end_of_its_head() -> None:
    """DeleteConnection's 204 may carry no Content-Length: the answer is complete at once,
    not when the server closes the connection."""
    assert parse_answer(b"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n") == (204, "", False)


def test_a_busy_shared_budget_costs_one_round_trip_in_a_warm_container(dynamodb: Any) -> None:
    """A container remembers which write fitted a key last: a budget running ahead of now is
    spent with one UpdateItem per action; a container that has not seen the key pays one more
    write once; a spent budget is refused by the write that finds it spent."""
    budget = Budget(SHARED_RATE_ATTRIBUTE, 60, 5)
    counting = CountingClient(dynamodb)
    warm = DynamoConnectionStore(counting, TABLE)
    assert [warm.admit_shared("rate#room#r", budget, NOW_MS) for _ in range(4)] == [0] * 4
    assert counting.calls["update_item"] == 4
    counting.calls.clear()
    cold = DynamoConnectionStore(counting, TABLE)
    assert cold.admit_shared("rate#room#r", budget, NOW_MS) == 0  # a SET that misses, an ADD
    assert counting.calls["update_item"] == 2
    counting.calls.clear()
    assert warm.admit_shared("rate#room#r", budget, NOW_MS) == 1000  # the ADD finds it spent
    assert DynamoConnectionStore(counting, TABLE).admit_shared("rate#room#r", budget, NOW_MS)
    assert counting.calls["update_item"] == 2  # one each: the SET's miss says it is spent


def test_a_busy_room_does_not_count_against_its_senders(world: World) -> None:
    """Refusals by the room's budget (which others spend too) close nobody: each such frame
    was admitted by the sender's own message budget, which bounds those answers."""
    world.settings = replace(
        world.settings,
        rate_limit_room_message_burst=2,
        rate_limit_room_messages_per_minute=1,
        rate_limit_refusal_burst=2,
        rate_limit_refusals_per_minute=1,
    )
    world.join("a")
    world.join("b")
    for n in range(8):
        world.invoke(send("a" if n % 2 else "b", f"m{n}"))
    assert world.sender.deleted == []
    refused = [f for cid in "ab" for f in world.sender.frames(cid) if f["type"] == "error"]
    assert len(refused) == 6
    assert all(f["message"].startswith("The room is busy") for f in refused)
