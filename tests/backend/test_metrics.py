"""The summary line is a valid CloudWatch Embedded Metric Format document with the counts of its
invocation ("Specification: Embedded metric format", CloudWatch user guide)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.errors import ConnectionGone, MessageNotStored
from chat.handler import handle
from chat.metrics import SERVER_ERRORS

from tests.backend.conftest import Logs
from tests.backend.fakes import FakeContext
from tests.backend.test_handler import (
    Exploding,
    World,
    connect_event,
    disconnect_event,
    message_event,
    send,
)

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def validate_emf(line: str) -> dict[str, Any]:
    """Check one log line as CloudWatch would extract metrics from it; return the document.

    The specification's rules: a JSON object with ``_aws`` holding an integer ``Timestamp`` (ms)
    and ``CloudWatchMetrics``, a list of directives; each directive has a ``Namespace`` (1-255
    characters), ``Dimensions`` (a list of dimension sets, each at most 30 keys naming
    top-level string members) and ``Metrics`` (at most 100, each a ``Name`` of 1-255 characters
    naming a top-level number, an optional ``Unit`` from the standard units).
    """
    assert len(line.encode()) < 1024 * 1024
    document = json.loads(line)
    assert isinstance(document, dict)
    meta = document["_aws"]
    assert isinstance(meta["Timestamp"], int)
    assert not isinstance(meta["Timestamp"], bool)
    directives = meta["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert 1 <= len(directive["Namespace"]) <= 255
        assert not directive["Namespace"].startswith(":")
        for dimension_set in directive["Dimensions"]:
            assert len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(document[key], str)
                assert 1 <= len(document[key]) <= 1024
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert 1 <= len(metric["Name"]) <= 255
            assert metric.get("Unit", "None") in UNITS
            value = document[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool)
    return document


def metrics_of(document: dict[str, Any]) -> dict[str, float]:
    """Every declared metric with its value."""
    return {
        metric["Name"]: document[metric["Name"]]
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A fresh world whose invocations carry a Lambda-like function name."""
    return World(dynamodb)


def test_a_broadcast_to_five_with_one_stale_member_reports_4_delivered_1_pruned(
    world: World, logs: Logs
) -> None:
    """The metrics of a real invocation are that invocation's counts."""
    world.settings = replace(world.settings, presence_notice_max_members=0)
    for cid in ("a", "b", "c", "d", "stale"):
        world.join(cid)
    world.sender.script["stale"] = [ConnectionGone("stale", "410")]
    logs.clear()
    world.invoke(send("a", "hello"), FakeContext(function_name="awsome-chat-handler"))
    (line,) = logs.lines
    document = validate_emf(line)
    values = metrics_of(document)
    assert (values["delivered"], values["pruned"], values["failed"]) == (4, 1, 0)
    assert values["messages_accepted"] == 1
    assert values["fanout_ms"] > 0
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "awsome-chat"
    assert directive["Dimensions"] == [["Function"]]
    assert document["Function"] == "awsome-chat-handler"


def test_connections_opened_and_closed(world: World, logs: Logs) -> None:
    """$connect counts an opened connection, $disconnect a closed one; a refusal opens none."""
    world.invoke(connect_event("a", {"name": "ann"}))
    world.invoke(connect_event("b", {"name": ""}))  # refused with 400
    world.invoke(disconnect_event("a"))
    opened, refused, closed = (metrics_of(validate_emf(line)) for line in logs.lines)
    assert opened["connections_opened"] == 1
    assert refused["connections_opened"] == 0
    assert closed["connections_closed"] == 1


def test_a_refusal_is_counted_by_its_error_code(world: World, logs: Logs) -> None:
    """A refused frame adds the refused metric with an ErrorCode dimension, nothing else."""
    world.join("a")
    logs.clear()
    world.invoke(send("a", ""))
    document = validate_emf(logs.lines[0])
    by_code = [
        d for d in document["_aws"]["CloudWatchMetrics"] if "ErrorCode" in d["Dimensions"][0]
    ]
    assert [d["Dimensions"] for d in by_code] == [[["Function", "ErrorCode"]]]
    assert (document["ErrorCode"], document["refused"]) == ("empty_message", 1)
    assert metrics_of(document)["messages_accepted"] == 0


def test_no_dimension_is_a_room_or_a_connection(world: World, logs: Logs) -> None:
    """Dimensions stay low-cardinality: the function and the error code only."""
    world.join("a", room="secret-room")
    logs.clear()
    world.invoke(send("a", "", clientId="c-1"))
    document = validate_emf(logs.lines[0])
    keys = {
        key for d in document["_aws"]["CloudWatchMetrics"] for s in d["Dimensions"] for key in s
    }
    assert keys <= {"Function", "ErrorCode"}


def test_namespace_and_switch_are_settings(world: World, logs: Logs) -> None:
    """METRICS_NAMESPACE names the namespace; METRICS_ENABLED=false leaves a plain log line."""
    world.settings = replace(world.settings, metrics_namespace="team/chat")
    world.join("a")
    assert validate_emf(logs.lines[-1])["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "team/chat"
    world.settings = replace(world.settings, metrics_enabled=False)
    world.join("b")
    assert "_aws" not in json.loads(logs.lines[-1])


def test_server_errors_count_failures_not_refusals(world: World, logs: Logs) -> None:
    """Every line says whether the server failed: refusals by design (a 4xx $connect, a
    bad frame's error frame) and a lost peer are 0; a 500 with internal_error is 1."""
    world.join("a", name="ann")
    world.invoke(connect_event("b", {"name": "ann", "room": "general", "key": "x" * 43}))
    world.invoke(connect_event("c", {"name": ""}))
    world.invoke(send("a", ""))
    world.invoke(message_event("a", "{not json"))
    world.sender.script["a"] = [ConnectionGone("a", "410")]
    world.invoke(send("a", "to nobody"))
    refusals = [validate_emf(line) for line in logs.lines]
    statuses = [json.loads(line)["status"] for line in logs.lines]
    assert statuses == [200, 409, 400, 200, 200, 200]
    assert [metrics_of(d)[SERVER_ERRORS] for d in refusals] == [0] * 6
    logs.clear()
    world.store_wrapper = Exploding
    world.invoke(send("a", "hello"))
    (document,) = (validate_emf(line) for line in logs.lines)
    assert (document["status"], metrics_of(document)[SERVER_ERRORS]) == (500, 1)


def test_a_message_the_table_refused_is_a_server_error(world: World, logs: Logs) -> None:
    """not_stored is an error frame, as a refusal is, but the server failed: server_errors 1."""

    class Failing:
        def add(self, *_: Any) -> Any:
            raise MessageNotStored("InternalServerError")

    world.join("a")
    runtime = replace(world.runtime(), messages=Failing())
    logs.clear()
    handle(send("a", "hello", clientId="c-1"), FakeContext(), runtime_factory=lambda: runtime)
    (document,) = (validate_emf(line) for line in logs.lines)
    assert (document["status"], document["ErrorCode"]) == (200, "not_stored")
    assert metrics_of(document)[SERVER_ERRORS] == 1


def test_a_connect_that_fails_is_a_server_error(world: World, logs: Logs) -> None:
    """$connect answering 500 because its store failed counts as a server error."""

    class BrokenEnter(Exploding):
        def enter(self, _connection: Any, **_: Any) -> None:
            raise RuntimeError("table unavailable")

    world.store_wrapper = BrokenEnter
    world.invoke(connect_event("c1"))
    (document,) = (validate_emf(line) for line in logs.lines)
    assert (document["status"], metrics_of(document)[SERVER_ERRORS]) == (500, 1)
