"""The emulator's pure rules, with a fixed clock and fixed ids."""

from __future__ import annotations

import itertools
import json
import random
import re

import pytest

from local_stack.emulator.core import (
    close_reasons,
    events,
    management,
    quotas,
    responses,
    sockets,
    sources,
)
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.core.responses import InvocationFailed, InvocationOk
from local_stack.emulator.core.routes import RouteSelector
from local_stack.emulator.core.sockets import SocketRegistry, SocketState

ROUTES = frozenset({"$connect", "$disconnect", "$default", "sendmessage", "ping"})


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, now: float = 1_764_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_registry(clock: FakeClock, idle: float = 600, most: float = 7200) -> SocketRegistry:
    ids = (f"id{n:013d}=" for n in itertools.count())
    return SocketRegistry(
        clock=clock, new_id=lambda: next(ids), idle_timeout_s=idle, max_connection_s=most
    )


def begin(registry: SocketRegistry) -> sockets.ClientSocket:
    return registry.begin(source_ip="127.0.0.1", user_agent="ua", domain_name="localhost:1")


def test_ids_are_url_safe_and_shaped_like_api_gateways() -> None:
    """Ids are 16 URL-safe base64 characters ending in '=', never containing '/' or '+'."""
    ids = {sources.new_aws_id() for _ in range(2000)}
    assert len(ids) == 2000
    for value in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", value), value
    assert sources.new_aws_id(lambda n: b"\xff" * n) == "______________8="


def test_connection_goes_connecting_open_closed() -> None:
    """A connection is CONNECTING until accepted, then OPEN, then gone once closed."""
    registry = make_registry(FakeClock())
    connection = begin(registry)
    assert connection.state is SocketState.CONNECTING
    assert registry.open_connection(connection.connection_id) is None
    registry.accept(connection.connection_id)
    assert registry.open_connection(connection.connection_id) is connection
    assert registry.open_ids() == [connection.connection_id]
    registry.close(connection.connection_id, close_reasons.NO_STATUS)
    assert connection.state is SocketState.CLOSED
    assert registry.get(connection.connection_id) is None
    assert len(registry) == 0


def test_close_reports_an_open_connection_exactly_once() -> None:
    """The first close wins and returns the connection; later closes return None."""
    registry = make_registry(FakeClock())
    connection = begin(registry)
    registry.accept(connection.connection_id)
    assert registry.close(connection.connection_id, close_reasons.DELETED) is connection
    assert registry.close(connection.connection_id, close_reasons.NO_STATUS) is None
    assert connection.closed_by == close_reasons.DELETED


def test_refused_handshake_is_never_reported_as_a_disconnect() -> None:
    """A refused or abandoned handshake never was OPEN, so close() reports nothing."""
    registry = make_registry(FakeClock())
    refused, abandoned = begin(registry), begin(registry)
    registry.refuse(refused.connection_id)
    assert registry.get(refused.connection_id) is None
    assert registry.close(abandoned.connection_id, close_reasons.ABNORMAL) is None


def test_connected_at_is_fixed_and_last_active_follows_frames() -> None:
    """connectedAt stays at the handshake time; touch() moves lastActiveAt only."""
    clock = FakeClock()
    registry = make_registry(clock)
    connection = begin(registry)
    registry.accept(connection.connection_id)
    clock.now += 42.5
    registry.touch(connection.connection_id)
    assert connection.connected_at_ms == int(1_764_000_000.0 * 1000)
    assert connection.last_active_at == clock.now
    info = management.connection_info(connection)
    assert info["connectedAt"] == "2025-11-24T16:00:00.000Z"
    assert info["lastActiveAt"] == "2025-11-24T16:00:42.500Z"
    assert info["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "ua"}


def test_activity_in_either_direction_resets_the_idle_timer() -> None:
    """touch() is the one activity rule, called for client frames and for posts: published runs
    show server posts alone keeping a connection open up to the 2-hour limit (hotsock.io,
    "Keep Alive"); the README's Choices section says why."""
    clock = FakeClock()
    registry = make_registry(clock, idle=600)
    connection = begin(registry)
    registry.accept(connection.connection_id)
    clock.now += 590
    registry.touch(connection.connection_id)  # what a delivered post does
    clock.now += 590
    assert registry.expired() == []


def test_identity_leaves_out_a_missing_user_agent() -> None:
    """Without a User-Agent header, identity has no userAgent key at all (not null)."""
    registry = make_registry(FakeClock())
    connection = registry.begin(source_ip="127.0.0.1", user_agent=None, domain_name="h:1")
    assert events.identity(connection) == {"sourceIp": "127.0.0.1"}
    assert management.connection_info(connection)["identity"] == {"sourceIp": "127.0.0.1"}


def test_idle_connections_expire_and_activity_postpones_it() -> None:
    """A connection idle for the timeout is due; a frame restarts the timer."""
    clock = FakeClock()
    registry = make_registry(clock, idle=10, most=100)
    connection = begin(registry)
    registry.accept(connection.connection_id)
    clock.now += 9
    registry.touch(connection.connection_id)
    clock.now += 9
    assert registry.expired() == []
    clock.now += 1
    assert registry.expired() == [(connection.connection_id, close_reasons.IDLE_TIMEOUT)]


def test_connections_expire_at_the_maximum_duration_even_when_busy() -> None:
    """The maximum duration counts from connect, whatever the activity."""
    clock = FakeClock()
    registry = make_registry(clock, idle=10, most=30)
    connection = begin(registry)
    registry.accept(connection.connection_id)
    for _ in range(6):
        clock.now += 5
        registry.touch(connection.connection_id)
    assert registry.expired() == [(connection.connection_id, close_reasons.MAX_DURATION)]


def test_connecting_connections_do_not_expire() -> None:
    """Timeouts apply to open connections only."""
    clock = FakeClock()
    registry = make_registry(clock, idle=1, most=2)
    begin(registry)
    clock.now += 100
    assert registry.expired() == []


def test_registry_rejects_non_positive_timeouts() -> None:
    """A zero timeout is a configuration error, not an instant disconnect."""
    with pytest.raises(EmulatorConfigError, match="positive"):
        make_registry(FakeClock(), idle=0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"action": "sendmessage", "text": "hi"}', "sendmessage"),
        ('{"action": "ping"}', "ping"),
        ('{"action": "unknown"}', "$default"),
        ('{"text": "no action"}', "$default"),
        ('{"action": 5}', "$default"),
        ('{"action": null}', "$default"),
        ('{"action": ["ping", "pong"]}', "$default"),
        ('{"action": "$connect"}', "$default"),
        ('{"action": "$disconnect"}', "$default"),
        ('["ping"]', "$default"),
        ('"ping"', "$default"),
        ("not json", "$default"),
        ("", "$default"),
        ("[" * 5000, "$default"),
        ('{"action": ' + "[" * 5000 + "]" * 5000 + "}", "$default"),
    ],
)
def test_route_selection_falls_back_to_default(body: str, expected: str) -> None:
    """A value naming no custom route, or a frame that cannot be evaluated (not JSON, nested
    past the parser's depth), goes to $default; reserved keys are never selected by value."""
    assert RouteSelector("$request.body.action", ROUTES).select(body) == expected


STRINGIFIED = frozenset(
    {"$default", "1", "1.5", "1.0", "true", "false", "[ping, 2]", "{a=1, b=x}", "[]", "null"}
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"action": 1}', "1"),
        ('{"action": 1.5}', "1.5"),
        ('{"action": 1.0}', "1.0"),
        ('{"action": true}', "true"),
        ('{"action": false}', "false"),
        ('{"action": ["ping", 2]}', "[ping, 2]"),
        ('{"action": {"a": 1, "b": "x"}}', "{a=1, b=x}"),
        ('{"action": []}', "[]"),
        ('{"action": null}', "$default"),
    ],
)
def test_selected_values_are_stringified_before_matching(body: str, expected: str) -> None:
    """The selected value is stringified ("Create routes for WebSocket APIs in API Gateway":
    "keep in mind that the result will be stringified"; an array of two strings reads
    "[item1, item2]"): {"action": 1} selects route "1". null selects nothing, like a missing
    value (our reading; README, Choices)."""
    assert RouteSelector("$request.body.action", STRINGIFIED).select(body) == expected


def test_route_selection_is_case_sensitive() -> None:
    """Route keys match exactly, as in API Gateway."""
    assert RouteSelector("$request.body.action", ROUTES).select('{"action": "Ping"}') == "$default"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"a": {"b": "ping"}}', "ping"),
        ('{"a": {"b": {"c": "ping"}}}', "$default"),
        ('{"a": "ping"}', "$default"),
        ('{"a": {"x": "ping"}}', "$default"),
        ('{"b": "ping"}', "$default"),
    ],
)
def test_route_selection_follows_nested_paths(body: str, expected: str) -> None:
    """$request.body.a.b reads a nested property."""
    assert RouteSelector("$request.body.a.b", ROUTES).select(body) == expected


def test_route_selection_accepts_the_braced_form() -> None:
    """${request.body.action} is the same expression as $request.body.action."""
    assert RouteSelector("${request.body.action}", ROUTES).select('{"action": "ping"}') == "ping"


def test_without_default_route_unmatched_frames_have_no_route() -> None:
    """With no $default, an unmatched frame selects nothing (API Gateway answers Forbidden)."""
    selector = RouteSelector("$request.body.action", frozenset({"$connect", "ping"}))
    assert selector.select('{"action": "ping"}') == "ping"
    assert selector.select('{"action": "nope"}') is None
    assert selector.select("garbage") is None


@pytest.mark.parametrize(
    "expression",
    [
        "$request.header.action",
        "action",
        "$request.body.",
        "$request.body.a..b",
        "$request.body.a b",
    ],
)
def test_unsupported_route_selection_expressions_are_refused(expression: str) -> None:
    """A malformed or unsupported expression fails at configuration with a clear message."""
    with pytest.raises(EmulatorConfigError, match="route selection expression"):
        RouteSelector(expression, ROUTES)


def test_unknown_reserved_route_keys_are_refused() -> None:
    """Only $connect, $disconnect and $default may start with '$'."""
    with pytest.raises(EmulatorConfigError, match=r"\$other"):
        RouteSelector("$request.body.action", frozenset({"$other"}))


@pytest.mark.parametrize(
    ("payload", "accepted", "status"),
    [
        ({"statusCode": 200}, True, 200),
        ({"statusCode": 204, "body": ""}, True, 204),
        ({"statusCode": "200"}, True, 200),
        ({"statusCode": 400, "body": "bad name"}, False, 400),
        ({"statusCode": 403}, False, 403),
        ({"statusCode": 500}, False, 500),
        ({"statusCode": 302}, False, 302),
        (None, False, 502),
        ({}, False, 502),
        ({"statusCode": True}, False, 502),
        ({"statusCode": 99}, False, 502),
        ("200", False, 502),
    ],
)
def test_connect_answer_decides_the_handshake(payload: object, accepted: bool, status: int) -> None:
    """2xx accepts; any other status refuses with it; a malformed answer refuses with 502."""
    decision = responses.decide_connect(InvocationOk(payload))
    assert (decision.accepted, decision.status) == (accepted, status)


def test_connect_failure_refuses_with_502_and_passes_headers_on_success() -> None:
    """A function error refuses with 502, as AWS's Lambda proxy integration does (observed
    "Unexpected response code: 502": michalkvasnicak/aws-lambda-graphql#107); the integration
    timeout with 504 (re:Post "How can I troubleshoot API HTTP 504 timeout errors with API
    Gateway?", which covers WebSocket APIs); a 2xx answer's headers reach the handshake."""
    failed = responses.decide_connect(InvocationFailed("RuntimeError", "boom"))
    assert (failed.accepted, failed.status) == (False, 502)
    assert "boom" not in failed.body
    late = responses.decide_connect(responses.IntegrationTimedOut())
    assert (late.accepted, late.status) == (False, 504)
    ok = responses.decide_connect(
        InvocationOk({"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "chat"}})
    )
    assert ok.headers == {"Sec-WebSocket-Protocol": "chat"}


def test_gateway_frames_match_api_gateways() -> None:
    """Forbidden and Internal server error frames carry the connection and request ids."""
    assert json.loads(responses.forbidden_frame("c=", "r=")) == {
        "message": "Forbidden",
        "connectionId": "c=",
        "requestId": "r=",
    }
    failed = responses.message_reply(InvocationFailed("E", "secret detail"), "c=", "r=")
    assert failed is not None
    assert json.loads(failed) == {
        "message": "Internal server error",
        "connectionId": "c=",
        "requestId": "r=",
    }
    assert responses.message_reply(InvocationOk({"statusCode": 500}), "c=", "r=") is None


def test_gateway_frames_are_byte_for_byte_api_gateways() -> None:
    """API Gateway's own frames put a space after the first colon only, e.g.
    {"message": "Endpoint request timed out", "connectionId":"...", "requestId":"..."}
    as clients received it (Kludex/mangum#128, aws/chalice#1406)."""
    failed = responses.message_reply(InvocationFailed("E", "x"), "c=", "r=")
    assert failed == '{"message": "Internal server error", "connectionId":"c=", "requestId":"r="}'
    late = responses.message_reply(responses.IntegrationTimedOut(), "c=", "r=")
    assert late == (
        '{"message": "Endpoint request timed out", "connectionId":"c=", "requestId":"r="}'
    )
    assert responses.forbidden_frame("c=", "r=") == (
        '{"message": "Forbidden", "connectionId":"c=", "requestId":"r="}'
    )


@pytest.mark.parametrize(
    ("binary", "length", "before", "verdict"),
    [
        (False, quotas.FRAME_LIMIT_BYTES, 0, None),
        (False, quotas.FRAME_LIMIT_BYTES + 1, 0, close_reasons.MESSAGE_TOO_BIG),
        (
            False,
            quotas.FRAME_LIMIT_BYTES,
            quotas.MESSAGE_LIMIT_BYTES - quotas.FRAME_LIMIT_BYTES,
            None,
        ),
        (False, 1, quotas.MESSAGE_LIMIT_BYTES, close_reasons.MESSAGE_TOO_BIG),
        (True, 1, 0, close_reasons.UNSUPPORTED_DATA),
    ],
)
def test_client_frames_are_judged_by_the_quotas(
    binary: bool, length: int, before: int, verdict: close_reasons.CloseReason | None
) -> None:
    """Quotas: a frame over 32 KB or a message over 128 KB closes with 1009 ("Quotas for
    configuring and running a WebSocket API in API Gateway"); a binary frame closes with 1003
    ("Working with binary media types for WebSocket APIs")."""
    assert quotas.judge_client_frame(binary=binary, length=length, message_before=before) == verdict


def test_posts_are_cut_into_frames_of_at_most_32_kb() -> None:
    """A post over 32 KB is delivered as several frames of at most 32 KB (the quotas' footnote:
    this "applies to @connections commands")."""
    limit = quotas.FRAME_LIMIT_BYTES
    pieces = quotas.fragments(b"x" * (2 * limit + 5))
    assert [len(p) for p in pieces] == [limit, limit, 5]
    assert quotas.fragments(b"x" * limit) == [b"x" * limit]
    assert quotas.fragments(b"") == [b""]


def test_urls_over_4096_characters_are_too_long() -> None:
    """The quota: a WebSocket URL has at most 4,096 characters."""
    assert not quotas.url_too_long("w" * quotas.URL_LIMIT_CHARS)
    assert quotas.url_too_long("w" * (quotas.URL_LIMIT_CHARS + 1))


def test_post_checks_size_then_state() -> None:
    """Over 128 KB is 413; otherwise only an OPEN connection may be posted to (else 410)."""
    registry = make_registry(FakeClock())
    connection = begin(registry)
    limit = quotas.MESSAGE_LIMIT_BYTES
    assert management.check_post(connection, 10) == management.GONE  # still connecting
    registry.accept(connection.connection_id)
    assert management.check_post(connection, limit) is None
    assert management.check_post(connection, limit + 1) == management.PAYLOAD_TOO_LARGE
    assert management.check_post(None, 10) == management.GONE
    registry.close(connection.connection_id, close_reasons.DELETED)
    assert management.check_post(connection, 10) == management.GONE
    assert management.check_connection(connection) == management.GONE


def test_api_errors_have_botocore_shapes() -> None:
    """Error bodies are JSON; GoneException carries no message, as API Gateway's does."""
    assert json.loads(management.GONE.body()) == {}
    assert (management.GONE.status, management.GONE.error_type) == (410, "GoneException")
    assert json.loads(management.PAYLOAD_TOO_LARGE.body()) == {"message": "Message too long"}
    assert management.PAYLOAD_TOO_LARGE.status == 413
    assert management.LIMIT_EXCEEDED.status == 429


def test_fault_injection_draws_fixed_and_random_delays() -> None:
    """A fixed delay is exact; a range draws within it; no errors at rate 0."""
    rng = random.Random(1)
    assert FaultInjection(delay_s=0.25).draw(rng) == (0.25, None)
    delays = [FaultInjection(delay_s=(0.1, 0.2)).draw(rng)[0] for _ in range(200)]
    assert all(0.1 <= d <= 0.2 for d in delays)
    assert max(delays) - min(delays) > 0.05
    assert not FaultInjection().active


def test_fault_injection_error_rate_and_statuses() -> None:
    """About error_rate of the draws fail, with the configured statuses only."""
    rng = random.Random(7)
    faults = FaultInjection(error_rate=0.3, error_statuses=(429, 500))
    errors = [faults.draw(rng)[1] for _ in range(4000)]
    failed = [e for e in errors if e is not None]
    assert 0.25 < len(failed) / len(errors) < 0.35
    assert {e.status for e in failed} == {429, 500}
    always = FaultInjection(error_rate=1.0, error_statuses=(410,))
    assert always.draw(rng)[1] == management.GONE


@pytest.mark.parametrize(
    "settings",
    [
        {"delay_s": -1.0},
        {"delay_s": (0.5, 0.1)},
        {"error_rate": 1.5},
        {"error_statuses": (418,)},
        {"error_statuses": ()},
    ],
)
def test_fault_injection_rejects_bad_settings(settings: dict[str, object]) -> None:
    """Impossible injection settings fail at configuration."""
    with pytest.raises(EmulatorConfigError):
        FaultInjection(**settings)  # type: ignore[arg-type]


def test_request_time_uses_clf_with_english_months() -> None:
    """requestTime looks like API Gateway's: 09/Feb/2024:18:11:43 +0000."""
    assert events.request_time(1707502303.42) == "09/Feb/2024:18:11:43 +0000"
    assert events.request_time(1764000000.0) == "24/Nov/2025:16:00:00 +0000"


def test_gateway_headers_add_forwarding_and_keep_client_headers() -> None:
    """X-Forwarded-* and a trace id are added; a client X-Forwarded-For is extended; the
    hop-by-hop Connection and Upgrade end at the gateway (AWS's sample $connect events, e.g.
    Powertools' apiGatewayWebSocketConnectEvent, carry neither)."""
    headers = events.gateway_headers(
        [
            ("Host", "h"),
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("X-Amzn-Trace-Id", "spoofed"),
        ],
        source_ip="127.0.0.1",
        port=8080,
        proto="http",
        trace_id="Root=1-abc",
    )
    as_dict = dict(headers)
    assert as_dict["Host"] == "h"
    assert as_dict["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"
    assert as_dict["X-Forwarded-Port"] == "8080"
    assert as_dict["X-Forwarded-Proto"] == "http"
    assert as_dict["X-Amzn-Trace-Id"] == "Root=1-abc"
    assert {name.lower() for name in as_dict}.isdisjoint({"connection", "upgrade"})
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", events.trace_id(1764000000.0))


def test_single_and_multi_value_forms() -> None:
    """Single-value forms keep the last value; multi-value forms keep all, in order."""
    single, multi = events.single_and_multi([("a", "1"), ("b", "x"), ("a", "2")])
    assert single == {"a": "2", "b": "x"}
    assert multi == {"a": ["1", "2"], "b": ["x"]}
